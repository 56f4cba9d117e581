// Package storetest is the conformance suite every store.Backend must pass:
// the memory backend and the Redis backend run the very same tests, both at the
// Backend level and through store.CookieStore with real HTTP requests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"statelab/internal/poll"
	"statelab/servers/store"
)

// Factory returns a new, empty backend for one test. The backend must be
// cleaned up by the factory (t.Cleanup).
type Factory func(t *testing.T) store.Backend

// Run runs the suite against backends made by newBackend.
func Run(t *testing.T, newBackend Factory) {
	t.Run("FindMissing", func(t *testing.T) { testFindMissing(t, newBackend(t)) })
	t.Run("CommitFind", func(t *testing.T) { testCommitFind(t, newBackend(t)) })
	t.Run("CommitReplaces", func(t *testing.T) { testCommitReplaces(t, newBackend(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newBackend(t)) })
	t.Run("Refresh", func(t *testing.T) { testRefresh(t, newBackend(t)) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, newBackend(t)) })
	t.Run("Stats", func(t *testing.T) { testStats(t, newBackend(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newBackend(t)) })
	t.Run("CookieStore", func(t *testing.T) { testCookieStore(t, newBackend) })
}

var ctx = context.Background()

func testFindMissing(t *testing.T, b store.Backend) {
	data, found, err := b.Find(ctx, "no-such-id")
	if data != nil || found || err != nil {
		t.Fatalf("Find(missing) = %q, %v, %v; want nil, false, nil", data, found, err)
	}
}

func testCommitFind(t *testing.T, b store.Backend) {
	if err := b.Commit(ctx, "a", []byte("alpha"), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	data, found, err := b.Find(ctx, "a")
	if err != nil || !found || string(data) != "alpha" {
		t.Fatalf("Find = %q, %v, %v; want alpha, true, nil", data, found, err)
	}
}

func testCommitReplaces(t *testing.T, b store.Backend) {
	exp := time.Now().Add(time.Minute)
	buf := []byte("one")
	for _, v := range []string{"one", "two"} {
		copy(buf, v)
		if err := b.Commit(ctx, "a", buf, exp); err != nil {
			t.Fatalf("Commit(%s): %v", v, err)
		}
	}
	copy(buf, "xxx") // the backend must not keep the caller's slice
	if data, _, _ := b.Find(ctx, "a"); string(data) != "two" {
		t.Fatalf("Find after two commits = %q, want two", data)
	}
}

// testRefresh: Refresh replaces what is held, and never brings back a
// session that was deleted or never stored (a logout between a read and its
// renewal stays a logout).
func testRefresh(t *testing.T, b store.Backend) {
	exp := time.Now().Add(time.Minute)
	if held, err := b.Refresh(ctx, "never", []byte("x"), exp); held || err != nil {
		t.Fatalf("Refresh(never stored) = %v, %v; want false, nil", held, err)
	}
	if _, found, _ := b.Find(ctx, "never"); found {
		t.Fatal("Refresh stored a session that was never committed")
	}
	if err := b.Commit(ctx, "a", []byte("one"), exp); err != nil {
		t.Fatal(err)
	}
	if held, err := b.Refresh(ctx, "a", []byte("two"), exp); !held || err != nil {
		t.Fatalf("Refresh(held) = %v, %v; want true, nil", held, err)
	}
	if data, _, _ := b.Find(ctx, "a"); string(data) != "two" {
		t.Fatalf("Find after Refresh = %q, want two", data)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if held, err := b.Refresh(ctx, "a", []byte("three"), exp); held || err != nil {
		t.Fatalf("Refresh(deleted) = %v, %v; want false, nil", held, err)
	}
	if _, found, _ := b.Find(ctx, "a"); found {
		t.Fatal("Refresh brought back a deleted session")
	}
}

func testDelete(t *testing.T, b store.Backend) {
	if err := b.Commit(ctx, "a", []byte("x"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, found, err := b.Find(ctx, "a"); found || err != nil {
		t.Fatalf("Find after Delete = %v, %v; want false, nil", found, err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete(missing) = %v, want nil", err)
	}
}

func testExpiry(t *testing.T, b store.Backend) {
	if err := b.Commit(ctx, "short", []byte("x"), time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx, "long", []byte("y"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := b.Find(ctx, "short"); !found {
		t.Fatal("session gone before its expiry")
	}
	waitFor(t, 5*time.Second, "short session to expire", func() bool {
		_, found, err := b.Find(ctx, "short")
		return !found && err == nil
	})
	if _, found, _ := b.Find(ctx, "long"); !found {
		t.Fatal("long-lived session expired with the short one")
	}
	if err := b.Commit(ctx, "past", []byte("z"), time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("Commit(past expiry): %v", err)
	}
	if _, found, _ := b.Find(ctx, "past"); found {
		t.Fatal("session committed with a past expiry was found")
	}
}

func testStats(t *testing.T, b store.Backend) {
	st, err := b.Stats(ctx)
	if err != nil || st.Sessions != 0 || st.Bytes != 0 {
		t.Fatalf("Stats(empty) = %+v, %v; want no session and no byte", st, err)
	}
	exp := time.Now().Add(time.Minute)
	for i, data := range []string{"abc", "defgh"} {
		if err := b.Commit(ctx, fmt.Sprint("id", i), []byte(data), exp); err != nil {
			t.Fatal(err)
		}
	}
	st, err = b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 2 || st.Bytes != 3+3+3+5 {
		t.Fatalf("Stats = %+v, want 2 sessions of %d bytes", st, 3+3+3+5)
	}
	// Replacing a session changes its bytes; deleting one takes it out.
	if err := b.Commit(ctx, "id1", []byte("xy"), exp); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "id0"); err != nil {
		t.Fatal(err)
	}
	if st, err = b.Stats(ctx); err != nil || st.Sessions != 1 || st.Bytes != 3+2 {
		t.Fatalf("after a replace and a delete: Stats = %+v, %v; want 1 session of %d bytes", st, err, 3+2)
	}
}

func testConcurrent(t *testing.T, b store.Backend) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("user", g)
			for i := 0; i < 50; i++ {
				want := fmt.Sprint("v", i)
				if err := b.Commit(ctx, id, []byte(want), time.Now().Add(time.Minute)); err != nil {
					errs <- err
					return
				}
				if data, found, err := b.Find(ctx, id); err != nil || !found || string(data) != want {
					errs <- fmt.Errorf("%s: Find = %q, %v, %v; want %s", id, data, found, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testCookieStore drives store.CookieStore over the backend with real
// requests, the way a browser holds a session.
func testCookieStore(t *testing.T, newBackend Factory) {
	const name = "statelab_session"
	keyA, keyB := []byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32))

	// save runs a request that stores values and returns the cookie set.
	save := func(t *testing.T, s *store.CookieStore, in *http.Cookie, values map[any]any, renew bool) *http.Cookie {
		t.Helper()
		r := httptest.NewRequest("POST", "/", nil)
		if in != nil {
			r.AddCookie(in)
		}
		w := httptest.NewRecorder()
		sess, _ := s.Get(r, name)
		if renew {
			if err := s.Renew(r.Context(), sess); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range values {
			sess.Values[k] = v
		}
		if err := sess.Save(r, w); err != nil {
			t.Fatalf("Save: %v", err)
		}
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("Save set %d cookies, want 1", len(cs))
		}
		return cs[0]
	}
	load := func(s *store.CookieStore, c *http.Cookie) (map[any]any, bool, error) {
		r := httptest.NewRequest("GET", "/", nil)
		if c != nil {
			r.AddCookie(c)
		}
		sess, err := s.Get(r, name)
		return sess.Values, !sess.IsNew, err
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := store.NewCookieStore(newBackend(t), time.Hour, false, keyA)
		c := save(t, s, nil, map[any]any{"user": "alice"}, false)
		if c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("cookie attributes = secure %v, httponly %v, samesite %v, path %q; want false, true, Lax, /",
				c.Secure, c.HttpOnly, c.SameSite, c.Path)
		}
		if strings.Contains(c.Value, "alice") {
			t.Errorf("cookie %q carries the session's values; it must carry only the id", c.Value)
		}
		values, found, err := load(s, c)
		if err != nil || !found || values["user"] != "alice" {
			t.Fatalf("load = %v, %v, %v; want alice", values, found, err)
		}
	})
	t.Run("ValuesOfOtherTypes", func(t *testing.T) {
		s := store.NewCookieStore(newBackend(t), time.Hour, false, keyA)
		c := save(t, s, nil, map[any]any{"user": "alice", "visits": 3, 7: true}, false)
		values, found, err := load(s, c)
		if err != nil || !found || values["user"] != "alice" || values["visits"] != 3 || values[7] != true {
			t.Fatalf("load = %v, %v, %v; want the values saved", values, found, err)
		}
	})
	t.Run("NoCookie", func(t *testing.T) {
		s := store.NewCookieStore(newBackend(t), time.Hour, false, keyA)
		if _, found, err := load(s, nil); found || err != nil {
			t.Fatalf("load(no cookie) = %v, %v; want new session, nil", found, err)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		s := store.NewCookieStore(newBackend(t), time.Hour, false, keyA)
		c := save(t, s, nil, map[any]any{"user": "alice"}, false)
		for _, v := range []string{c.Value[:len(c.Value)-2] + "xx", "garbage", "", strings.Repeat("A", 4096)} {
			if _, found, err := load(s, &http.Cookie{Name: name, Value: v}); found || (v != "" && !errors.Is(err, store.ErrBadCookie)) {
				t.Errorf("load(%.20q) = found %v, err %v; want new session, ErrBadCookie", v, found, err)
			}
		}
	})
	t.Run("KeyRotation", func(t *testing.T) {
		b := newBackend(t)
		old := store.NewCookieStore(b, time.Hour, false, keyA)
		c := save(t, old, nil, map[any]any{"user": "alice"}, false)
		kept := store.NewCookieStore(b, time.Hour, false, keyB, keyA)
		if _, found, err := load(kept, c); !found || err != nil {
			t.Errorf("with the old key kept for verification: found %v, err %v; want found", found, err)
		}
		dropped := store.NewCookieStore(b, time.Hour, false, keyB)
		if _, found, err := load(dropped, c); found || !errors.Is(err, store.ErrBadCookie) {
			t.Errorf("with the old key dropped: found %v, err %v; want ErrBadCookie", found, err)
		}
		// The same store, its keys changed while it runs.
		old.SetKeys(keyB, keyA)
		if _, found, err := load(old, c); !found || err != nil {
			t.Errorf("after SetKeys(new, old): found %v, err %v; want found", found, err)
		}
		old.SetKeys(keyB)
		if _, found, err := load(old, c); found || !errors.Is(err, store.ErrBadCookie) {
			t.Errorf("after SetKeys(new): found %v, err %v; want ErrBadCookie", found, err)
		}
	})
	t.Run("RenewGivesNewID", func(t *testing.T) {
		b := newBackend(t)
		s := store.NewCookieStore(b, time.Hour, false, keyA)
		before := save(t, s, nil, map[any]any{"user": "anonymous"}, false)
		after := save(t, s, before, map[any]any{"user": "alice"}, true)
		if before.Value == after.Value {
			t.Fatal("renewed session kept its id")
		}
		if _, found, _ := load(s, before); found {
			t.Error("the id from before renewal still finds a session")
		}
		if v, found, _ := load(s, after); !found || v["user"] != "alice" {
			t.Errorf("renewed session = %v, %v; want alice", v, found)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := store.NewCookieStore(newBackend(t), time.Hour, false, keyA)
		c := save(t, s, nil, map[any]any{"user": "alice"}, false)
		r := httptest.NewRequest("POST", "/logout", nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		sess, _ := s.Get(r, name)
		sess.Options.MaxAge = -1
		if err := sess.Save(r, w); err != nil {
			t.Fatal(err)
		}
		if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
			t.Errorf("logout cookies = %v, want one expired cookie", cs)
		}
		if _, found, _ := load(s, c); found {
			t.Error("deleted session still found with the old cookie")
		}
	})
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	err := poll.Until(context.Background(), limit, 10*time.Millisecond, func(context.Context) error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
