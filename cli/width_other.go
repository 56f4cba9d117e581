//go:build !unix

package cli

// termWidth is 0 where the terminal's width is not known: COLUMNS decides.
func termWidth(any) int { return 0 }
