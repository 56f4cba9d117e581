package statelab

import (
	"fmt"
	"slices"
	"strings"
)

// Home is where a variant keeps a user's session between two requests:
// the one fact that decides which failures lose the user.
type Home int

// The homes. Disk is a home no variant of the lab has; the theory
// derives what it would show all the same.
const (
	Process Home = iota + 1 // the memory of the instance process that created it
	Disk                    // a file on the disk of the instance that created it
	Store                   // a store every instance shares (Redis)
	Client                  // the client: the whole session travels with each request
)

func (h Home) String() string {
	switch h {
	case Process:
		return "the process"
	case Disk:
		return "the instance's disk"
	case Store:
		return "a shared store"
	case Client:
		return "the client"
	}
	return fmt.Sprintf("Home(%d)", int(h))
}

// Description is what a variant is. Everything the lab says of a variant
// that is not its name follows from it: the pages' colours and captions,
// the cookie a client keeps, and, through the properties below, what each
// scenario predicts the variant will show.
type Description struct {
	Variant Variant
	Home    Home
	// Caption says where the sessions live, in a few words.
	Caption string
	// Colour is the variant's colour on pages (CSS), and DarkColour on a
	// dark background (the projector's).
	Colour, DarkColour string
	// Bearer says the client presents its credential in an Authorization
	// header; otherwise in a cookie, named by Cookie.
	Bearer bool
	// FixedLifetime says a session ends a fixed time after login, however
	// active its user: what the server handed out cannot be renewed in
	// place (a token); otherwise each request renews it.
	FixedLifetime bool
	// Denylist says the variant can be made to refuse a credential after
	// logout with a list of revoked ones in the shared store, although it
	// keeps no session there.
	Denylist bool
	// MaxBytes, when set, is the most the credential may carry; a session
	// that outgrows it is not saved.
	MaxBytes int
}

// MaxCookieBytes is the largest cookie (name, "=" and value) a browser is
// sure to keep: RFC 6265, section 6.1, asks browsers for at least 4096
// bytes per cookie.
const MaxCookieBytes = 4096

var descriptions = []Description{
	{Variant: Memory, Home: Process, Caption: "sessions in one process's memory", Colour: "#6d3fb8", DarkColour: "#b48cff"},
	{Variant: Redis, Home: Store, Caption: "sessions in a Redis every instance shares", Colour: "#b3261e", DarkColour: "#ff7a6b"},
	{Variant: JWT, Home: Client, Caption: "sessions in a signed token the client holds", Colour: "#1a62a3", DarkColour: "#6fb6ff",
		Bearer: true, FixedLifetime: true, Denylist: true, MaxBytes: MaxTokenBytes},
	{Variant: Cookie, Home: Client, Caption: "sessions whole in a signed, encrypted cookie", Colour: "#8a5700", DarkColour: "#f2b84b",
		MaxBytes: MaxCookieBytes},
}

// Describe returns what v is. An unknown variant has a zero Home.
func (v Variant) Describe() Description {
	i := slices.IndexFunc(descriptions, func(d Description) bool { return d.Variant == v })
	if i < 0 {
		return Description{Variant: v}
	}
	return descriptions[i]
}

// Descriptions returns every variant's description, in the order of
// Variants.
func Descriptions() []Description { return slices.Clone(descriptions) }

// Shared says every instance can read every session: kept in a shared
// store or carried by the client. A variant that is not shared needs its
// users pinned to the instance that holds their session.
func (d Description) Shared() bool { return d.Home == Store || d.Home == Client }

// DiesWithProcess says a session ends when the process that holds it does.
func (d Description) DiesWithProcess() bool { return d.Home == Process }

// DiesWithStore says a session ends with the shared store's data, and
// cannot be read while the store is unreachable.
func (d Description) DiesWithStore() bool { return d.Home == Store }

// ServerHolds says the server keeps the session and the client only an
// id: logout ends it everywhere (revocable), a key cannot forge it, and
// it costs the server memory rather than the client bytes on every request.
func (d Description) ServerHolds() bool { return d.Home != Client }

// Where says, in a few words, what the variant's sessions live and die
// with: the properties the theory uses.
func (d Description) Where() string {
	var parts []string
	switch {
	case d.DiesWithProcess():
		parts = append(parts, "dies with the process")
	case d.DiesWithStore():
		parts = append(parts, "dies with the store")
	case d.Home == Disk:
		parts = append(parts, "outlives the process, not the instance")
	default:
		parts = append(parts, "survives process and store")
	}
	if !d.Shared() {
		parts = append(parts, "needs affinity")
	}
	if d.ServerHolds() {
		parts = append(parts, "revocable")
	} else {
		parts = append(parts, "not revocable")
	}
	if d.FixedLifetime {
		parts = append(parts, "fixed lifetime")
	}
	if d.MaxBytes > 0 {
		parts = append(parts, fmt.Sprintf("at most %d bytes", d.MaxBytes))
	}
	return strings.Join(parts, "; ")
}

// Instance names instance n of the variant: "memory-2".
func (v Variant) Instance(n int) string { return fmt.Sprintf("%s-%d", v, n) }

// VariantOf returns the variant whose instance name is given ("redis-2"),
// or "" when the name is no instance of the lab's variants.
func VariantOf(instance string) Variant {
	i := strings.LastIndexByte(instance, '-')
	if i < 0 {
		return ""
	}
	v, err := ParseVariant(instance[:i])
	if err != nil {
		return ""
	}
	return v
}
