package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"statelab/servers/store"
	"statelab/servers/store/memstore"
	"statelab/servers/store/redisstore"
)

// The Backend contract: a session that is not there is not an error (the
// user must log in again), and what a store holds is counted.
func ExampleBackend() {
	ctx := context.Background()
	var b store.Backend = memstore.New(time.Minute)
	defer b.(*memstore.Store).Close()

	_, found, err := b.Find(ctx, "never-created")
	fmt.Println("unknown id:", found, err)

	_ = b.Commit(ctx, "id-1", []byte("alice's cart"), time.Now().Add(time.Minute))
	data, found, err := b.Find(ctx, "id-1")
	fmt.Printf("id-1: %q %v %v\n", data, found, err)

	st, _ := b.Stats(ctx)
	fmt.Println("held:", st.Sessions, "session,", st.Bytes, "bytes")
	// Output:
	// unknown id: false <nil>
	// id-1: "alice's cart" true <nil>
	// held: 1 session, 16 bytes
}

// A store that cannot answer says so with ErrUnavailable, which becomes a
// 503, never a lost session (401): here, no Redis listens on the port.
func ExampleErrUnavailable() {
	rdb := redisstore.Client("127.0.0.1:1", 200*time.Millisecond)
	defer rdb.Close()
	_, found, err := redisstore.New(rdb, "").Find(context.Background(), "id-1")
	fmt.Println(found, errors.Is(err, store.ErrUnavailable))
	// Output:
	// false true
}
