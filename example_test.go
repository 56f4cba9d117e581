package statelab_test

import (
	"fmt"

	"statelab"
)

// A keys file rotates keys without a restart: the first key signs, every
// key verifies, so keeping the old key after the new one lets what it
// signed be read.
func ExampleParseKeys() {
	file := []byte(`# rotate: b signs from now on, a still verifies
STATELAB_JWT_KEYS=b:second-secret-0123456789-0123456789,a:first-secret-0123456789-01234567890
`)
	keys, err := statelab.ParseKeys(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range keys.JWT {
		fmt.Println(k.ID)
	}
	fmt.Printf("%s", keys.Format())

	_, err = statelab.ParseKeys([]byte("STATELAB_JWT_KEYS=a:short\n"))
	fmt.Println(err)
	// Output:
	// b
	// a
	// STATELAB_JWT_KEYS=b:second-secret-0123456789-0123456789,a:first-secret-0123456789-01234567890
	// line 1: jwt key "a": its secret is 5 bytes: want at least 32 (RFC 7518 section 3.2: an HS256 key of at least 256 bits)
}
