package sqlstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed58a3dad2/session/internal/sqltest"
	"github.com/seed58a3dad2/session/sqlstore"
	"github.com/seed58a3dad2/session/store"
)

// crashChildEnv, set to a database path, makes the test binary write to
// that database until it is killed (see TestMain).
const crashChildEnv = "SQLSTORE_TEST_CRASH_CHILD"

// writeUntilKilled creates sessions and updates them, one after the other,
// and prints a line on standard output after each call has returned, so that
// the parent knows what was committed: "created ID", "updated ID N".
func writeUntilKilled(path string) int {
	db, err := sqlstore.OpenSQLite(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite, SweepInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	big := strings.Repeat("x", 8<<10) // a few pages per transaction
	for i := 0; ; i++ {
		id := fmt.Sprintf("s%06d", i)
		if err := s.Create(ctx, id, map[string][]byte{"i": []byte(fmt.Sprint(i)), "big": []byte(big)}, time.Hour, 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("created %s\n", id)
		if i > 0 {
			prev := fmt.Sprintf("s%06d", i-1)
			d := store.Delta{Del: []string{"big"}, Set: map[string][]byte{"next": []byte(fmt.Sprint(i))}}
			if _, err := s.Update(ctx, prev, d, time.Hour, 10); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Printf("updated %s %d\n", prev, i)
		}
	}
}

func TestSQLiteSurvivesAKill(t *testing.T) {
	path := sqltest.SQLitePath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the writer: %v", err)
	}
	created := make(map[string]bool)
	updated := make(map[string]string)
	lines := bufio.NewScanner(out)
	read := func(line string) {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "created":
			created[f[1]] = true
		case len(f) == 3 && f[0] == "updated":
			updated[f[1]] = f[2]
		default:
			t.Errorf("the writer printed %q", line)
		}
	}
	for len(created) < 300 && lines.Scan() {
		read(lines.Text())
	}
	// SIGKILL: no deferred function, no Close, mid-transaction.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() { // what was printed before the kill was committed too
		read(lines.Text())
	}
	_ = cmd.Wait()
	if len(created) < 300 {
		t.Fatalf("the writer stopped after %d sessions: %s", len(created), stderr.String())
	}

	db, err := sqlstore.OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite after the kill: %v", err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: got %q, %v, want ok", check, err)
	}
	s := newStore(t, db, sqlstore.SQLite, sqlstore.Config{})
	for id := range created {
		values, found, err := s.Load(t.Context(), id, 0)
		if err != nil || !found {
			t.Errorf("session %s, created before the kill: got found=%v, %v, want it", id, found, err)
			continue
		}
		if next, ok := updated[id]; ok {
			if string(values["next"]) != next || values["big"] != nil {
				t.Errorf("session %s, updated before the kill: got next=%q and %d bytes of big, want next=%s and none",
					id, values["next"], len(values["big"]), next)
			}
		}
	}
	// A write the writer had committed but not yet printed when it died may
	// be there too: every session in the file, acknowledged or not, is in
	// one of the states a whole transaction leaves, never half of one.
	inFile := 0
	for i := range len(created) + 2 {
		id := fmt.Sprintf("s%06d", i)
		values, found, err := s.Load(t.Context(), id, 0)
		if err != nil {
			t.Fatalf("Load(%s): got error %v, want nil", id, err)
		}
		if !found {
			continue
		}
		inFile++
		created := string(values["i"]) == fmt.Sprint(i) && len(values["big"]) == 8<<10 && values["next"] == nil
		updated := string(values["i"]) == fmt.Sprint(i) && values["big"] == nil && string(values["next"]) == fmt.Sprint(i+1)
		if !created && !updated || len(values) != 2 {
			t.Errorf("session %s: got i=%q, next=%q and %d bytes of big, want the state after its Create or after its Update, not a mix",
				id, values["i"], values["next"], len(values["big"]))
		}
	}
	var rows int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM sessions").Scan(&rows); err != nil || rows != inFile {
		t.Errorf("the sessions table holds %d rows, %v, want the %d sessions found", rows, err, inFile)
	}
	t.Run("the store works on the file", func(t *testing.T) {
		mustCreate(t, s, "after", kv("a", "1"), time.Hour)
		if _, err := s.Update(t.Context(), "after", store.Delta{Set: kv("b", "2")}, time.Hour, 10); err != nil {
			t.Fatalf("Update: got error %v, want nil", err)
		}
		if values, found, err := s.Load(t.Context(), "after", 0); err != nil || !found || len(values) != 2 {
			t.Errorf("Load: got %q, %v, %v, want a and b", values, found, err)
		}
	})
	t.Logf("%d sessions created and %d updated before the kill, all found; %d sessions in the file, each whole", len(created), len(updated), inFile)
}

func TestSQLiteWritersOfSeveralPools(t *testing.T) {
	// Two pools on one file stand for two processes: their writers do not
	// queue in process together, so they meet on SQLite's lock, which the
	// busy timeout waits for. None may fail with SQLITE_BUSY.
	var b backend
	for _, bk := range backends {
		if bk.dialect == sqlstore.SQLite {
			b = bk
		}
	}
	dbs := pools(t, b, 2)
	stores := []*sqlstore.Store{
		newStore(t, dbs[0], sqlstore.SQLite, sqlstore.Config{}),
		newStore(t, dbs[1], sqlstore.SQLite, sqlstore.Config{}),
	}
	mustCreate(t, stores[0], "shared", nil, time.Hour)
	var wg sync.WaitGroup
	for i := range 40 {
		s := stores[i%2]
		wg.Go(func() {
			ctx := t.Context()
			k := fmt.Sprint("k", i)
			if _, err := s.Update(ctx, "shared", store.Delta{Set: map[string][]byte{k: []byte("v")}}, time.Hour, 100); err != nil {
				t.Errorf("Update: got error %v, want nil", err)
			}
			if _, _, err := s.Load(ctx, "shared", time.Hour); err != nil {
				t.Errorf("Load with a touch: got error %v, want nil", err)
			}
			if err := s.Create(ctx, k, nil, time.Hour, 0); err != nil {
				t.Errorf("Create: got error %v, want nil", err)
			}
		})
	}
	wg.Wait()
	if values, _, _ := stores[1].Load(t.Context(), "shared", 0); len(values) != 40 {
		t.Errorf("got %d keys, want 40", len(values))
	}
}

// goroutinesCreated returns how many goroutines the process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestSQLiteWriteWatchesOnlyItsLock(t *testing.T) {
	// The middleware's contexts can be canceled (StoreTimeout). The driver
	// starts a goroutine to watch such a context for every statement; in a
	// write transaction only the first statement, which takes the write
	// lock, can wait, so only it is watched. The goroutines of the others,
	// started while the lock was held, made the 99th percentile of a loaded
	// server ten times its median (BENCHMARKS.md, "Tail latency").
	s := newStore(t, openSQLite(t), sqlstore.SQLite, sqlstore.Config{})
	mustCreate(t, s, "a", map[string][]byte{"n": []byte("0")}, time.Hour)
	writes := func(ctx context.Context) uint64 {
		const n = 20
		before := goroutinesCreated()
		for i := range n {
			d := store.Delta{Set: map[string][]byte{"n": []byte(fmt.Sprint(i))}}
			if ok, err := s.Update(ctx, "a", d, time.Hour, 10); !ok || err != nil {
				t.Fatalf("Update: got %v, %v, want true, nil", ok, err)
			}
		}
		return goroutinesCreated() - before
	}
	background := writes(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if watched := writes(ctx); watched > background+20 {
		t.Errorf("20 updates started %d goroutines with a context that can be canceled, %d without: "+
			"want at most one more per update (the watcher of the statement that takes the lock)", watched, background)
	}
}

func TestSQLiteWriteWaitingForTheLockIsCanceled(t *testing.T) {
	// Another process (a pool of its own) holds the write lock: a write
	// waits for it, within the busy timeout of 10 seconds, and gives up
	// when its context ends.
	dbs := pools(t, backend{dialect: sqlstore.SQLite}, 2)
	s := newStore(t, dbs[0], sqlstore.SQLite, sqlstore.Config{})
	mustCreate(t, s, "a", nil, time.Hour)
	other, err := dbs[1].Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: %v", err)
	}
	defer other.ExecContext(context.Background(), "ROLLBACK")
	// A real deadline: what ends the wait is SQLite's busy handler, on
	// the wall clock, which a fake clock cannot drive.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Update(ctx, "a", store.Delta{Set: map[string][]byte{"k": []byte("v")}}, time.Hour, 10)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Update: got error %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update still waits for the lock 5s after its context ended")
	}
}
