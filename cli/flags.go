package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"statelab"
)

var errHelp = flag.ErrHelp

// onOff is a switch that reads on or off (or true or false): --calibrate=off.
type onOff bool

func (o *onOff) String() string {
	if o == nil || *o {
		return "on"
	}
	return "off"
}

func (o *onOff) Set(s string) error {
	switch strings.ToLower(s) {
	case "on", "true", "1", "yes":
		*o = true
	case "off", "false", "0", "no":
		*o = false
	default:
		return fmt.Errorf("%q: want on or off", s)
	}
	return nil
}

func (o *onOff) IsBoolFlag() bool { return true }

// EnvName is the environment variable that sets a flag: STATELAB_ and
// the flag's name in upper case, - as _ (statelab.EnvName).
func EnvName(flagName string) string { return statelab.EnvName(flagName) }

// flagSet is a subcommand's flags, with the usage that -h prints.
type flagSet struct {
	*flag.FlagSet
	synopsis string
}

// newFlagSet returns a flag set whose usage lists each flag's variable.
func newFlagSet(name, synopsis string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // printed by parse, on -h only
	return &flagSet{FlagSet: fs, synopsis: synopsis}
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: lab %s\n\nFlags (each also from its environment variable):\n", fs.synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "   (%s)\n      %s", EnvName(f.Name), strings.ReplaceAll(usage, "\n", "\n      "))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parse parses args, then sets every flag not given on the command line from
// its environment variable. A bad value from either is a UsageError.
func parse(fs *flagSet, args []string, env Env) error {
	if err := fs.Parse(args); err != nil {
		return parseError(fs, err, env)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || env.Getenv == nil {
			return
		}
		if v := env.Getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: invalid value for --%s: %v", EnvName(f.Name), v, f.Name, err))
			}
		}
	})
	if len(errs) > 0 {
		return UsageError{errors.Join(errs...)}
	}
	return nil
}

func parseError(fs *flagSet, err error, env Env) error {
	if errors.Is(err, flag.ErrHelp) {
		fs.printUsage(env.Stdout)
		return errHelp
	}
	return UsageError{err}
}

// logFlags adds --log-level and --log-format and returns a function that
// builds the logger they ask for.
func logFlags(fs *flagSet, env Env) func() (*slog.Logger, error) {
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	return func() (*slog.Logger, error) {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*level)); err != nil {
			return nil, UsageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", *level)}
		}
		opts := &slog.HandlerOptions{Level: l}
		switch *format {
		case "text":
			return slog.New(slog.NewTextHandler(env.Stderr, opts)), nil
		case "json":
			return slog.New(slog.NewJSONHandler(env.Stderr, opts)), nil
		}
		return nil, UsageError{fmt.Errorf("--log-format %q: want text or json", *format)}
	}
}

// parseLogged parses a command's flags, which take no argument, and
// returns the logger its --log-level and --log-format ask for.
func parseLogged(fs *flagSet, args []string, env Env, logger func() (*slog.Logger, error)) (*slog.Logger, error) {
	if err := parse(fs, args, env); err != nil {
		return nil, err
	}
	if err := noArgs(fs); err != nil {
		return nil, err
	}
	return logger()
}

// noArgs refuses positional arguments.
func noArgs(fs *flagSet) error {
	if fs.NArg() > 0 {
		return UsageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
