package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// The hash contenders read redisstore's hashes (the same keys, fields and
// JSON values, see hashKey) with one go-redis command and nothing else: no
// token, no guard, no library. They answer whether a read of one key should
// fetch the whole session: hash-hgetall reads every field (HGETALL, what
// redisstore's Load sends), hash-hmget only the one asked for (HMGET). Both
// write with one HSET, without the guard against resurrection and the
// MaxKeys check that redisstore's script adds. The cookie is the bare ID,
// as floor's.

// hashHGetAll reads a value as redisstore's Load does: the whole hash.
func hashHGetAll(c redis.UniversalClient) http.Handler {
	return hashContender(c, func(ctx context.Context, key string) (string, bool, error) {
		m, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			return "", false, err
		}
		v, ok := m["user"]
		return v, ok, nil
	})
}

// hashHMGet reads only the value asked for.
func hashHMGet(c redis.UniversalClient) http.Handler {
	return hashContender(c, func(ctx context.Context, key string) (string, bool, error) {
		vs, err := c.HMGet(ctx, key, "user").Result()
		if err != nil {
			return "", false, err
		}
		v, ok := vs[0].(string)
		return v, ok, nil
	})
}

// hashContender serves /login, /read (with read), /writeonly and /noop on
// redisstore's hashes.
func hashContender(c redis.UniversalClient, read func(ctx context.Context, key string) (string, bool, error)) http.Handler {
	const cookie = "fid"
	key := func(r *http.Request) string {
		ck, err := r.Cookie(cookie)
		if err != nil || len(ck.Value) < 1 {
			return ""
		}
		return hashKey(ck.Value)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:])
		pipe := c.Pipeline()
		pipe.HSet(r.Context(), hashKey(id), "@created", time.Now().UnixMilli(), "user", `"ann"`, "n", "0")
		pipe.PExpire(r.Context(), hashKey(id), idleTimeout)
		if _, err := pipe.Exec(r.Context()); err != nil {
			fail(w, err.Error())
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: id, Path: "/", MaxAge: int(idleTimeout / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
		reply(w, "ok")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		k := key(r)
		if k == "" {
			fail(w, "no cookie")
			return
		}
		user, ok, err := read(r.Context(), k)
		if err != nil {
			fail(w, err.Error())
			return
		}
		if !ok {
			fail(w, "no user")
			return
		}
		reply(w, user)
	})
	mux.HandleFunc("/writeonly", func(w http.ResponseWriter, r *http.Request) {
		k := key(r)
		if k == "" {
			fail(w, "no cookie")
			return
		}
		if err := c.HSet(r.Context(), k, "n", "7").Err(); err != nil {
			fail(w, err.Error())
			return
		}
		reply(w, "ok")
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok") })
	return mux
}
