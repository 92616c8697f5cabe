// Command docgen writes the figures of one run of bench/all.sh into
// BENCHMARKS.md: it replaces the content of every generated block (between
// "<!-- generated: NAME -->" and "<!-- end generated -->") with what it
// renders from the run's results directory, and leaves the prose around
// them as it is. A block the document lacks, or one docgen does not know,
// is an error; so is a link to a section (a target's explanation) that the
// document no longer has. A part of the run that was skipped or failed
// gives its block a line saying so instead of figures.
//
//	go run ./docgen -results DIR -doc ../BENCHMARKS.md
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/seed58a3dad2/session/bench/internal/gobench"
	"github.com/seed58a3dad2/session/bench/internal/markers"
	"github.com/seed58a3dad2/session/bench/internal/result"
	"github.com/seed58a3dad2/session/bench/internal/tables"
	"github.com/seed58a3dad2/session/bench/internal/verdict"
)

func main() {
	log.SetFlags(0)
	dir := flag.String("results", "", "the results directory bench/all.sh filled")
	doc := flag.String("doc", "../BENCHMARKS.md", "the document to rewrite in place")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-results is required: the directory bench/all.sh wrote (RESULTS=dir keeps it)")
	}
	old, err := os.ReadFile(*doc)
	if err != nil {
		log.Fatal(err)
	}
	blocks, err := render(*dir, string(old))
	if err != nil {
		log.Fatal(err)
	}
	out, err := markers.Replace(string(old), blocks)
	if err != nil {
		log.Fatalf("%s: %v", *doc, err)
	}
	tmp := *doc + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, *doc); err != nil {
		log.Fatal(err)
	}
}

// run is one results directory.
type run struct {
	dir     string
	machine map[string]string // machine.env
}

// why says why part was not measured: the reason bench/all.sh recorded
// when it skipped it, else that its output is missing.
func (r run) why(part, file string) string {
	if s := r.machine["skip_"+part]; s != "" {
		return s
	}
	return fmt.Sprintf("no %s in the results (the step failed or did not run)", file)
}

// open returns the file name of the results, or ok false if it is absent.
func (r run) open(name string) (*os.File, bool, error) {
	f, err := os.Open(filepath.Join(r.dir, name))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	return f, err == nil, err
}

// render returns the content of every block from the results in dir; doc
// is the document, whose headings the targets' links must name.
func render(dir, doc string) (map[string]string, error) {
	r := run{dir: dir, machine: map[string]string{}}
	if _, err := os.Stat(filepath.Join(dir, "machine.env")); err != nil {
		return nil, fmt.Errorf("%s is not a results directory of bench/all.sh (no machine.env): %v", dir, err)
	}
	if err := readEnv(filepath.Join(dir, "machine.env"), r.machine); err != nil {
		return nil, err
	}
	blocks := map[string]string{}
	var in verdict.Inputs

	// The main table.
	var b bytes.Buffer
	f, ok, err := r.open("main.jsonl")
	switch {
	case err != nil:
		return nil, err
	case ok:
		rs, err := result.Read(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("main.jsonl: %v", err)
		}
		if len(rs) > 0 {
			in.Main, _ = result.Medians(rs)
			tables.Main(&b, in.Main)
		}
	}
	if in.Main == nil {
		in.MainWhy = r.why("main", "main.jsonl")
		fmt.Fprintf(&b, "Not measured in this run: %s.\n", in.MainWhy)
	}
	blocks["main-table"] = b.String()

	// Memory per session.
	b.Reset()
	f, ok, err = r.open("memsize.jsonl")
	if err != nil {
		return nil, err
	}
	if ok {
		dec := json.NewDecoder(f)
		for dec.More() {
			var m result.MemSize
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("memsize.jsonl: %v", err)
			}
			in.Memory = append(in.Memory, m)
		}
		f.Close()
	}
	if len(in.Memory) > 0 {
		tables.Memory(&b, in.Memory)
	} else {
		in.MemoryWhy = r.why("memsize", "memsize.jsonl")
		fmt.Fprintf(&b, "Not measured in this run: %s.\n", in.MemoryWhy)
	}
	blocks["memory"] = b.String()

	// How cost grows.
	in.Scale = map[string]map[result.Cell]result.Result{}
	for _, kind := range tables.ScaleKinds {
		b.Reset()
		text, med, err := scaleBlock(r, kind)
		if err != nil {
			return nil, err
		}
		if med != nil {
			in.Scale[kind] = med
		}
		blocks["scale-"+kind] = text
	}
	if len(in.Scale) == 0 {
		in.Scale = nil
		in.ScaleWhy = r.why("scale", "scale/")
	}

	// The library's benchmarks.
	f, ok, err = r.open("gobench.txt")
	if err != nil {
		return nil, err
	}
	if ok {
		in.Micro, err = gobench.Parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("gobench.txt: %v", err)
		}
	}
	if len(in.Micro) > 0 {
		blocks["micro"] = microBlock(in.Micro, r.machine["gobench"])
	} else {
		in.MicroWhy = r.why("gobench", "gobench.txt")
		blocks["micro"] = fmt.Sprintf("Not measured in this run: %s.\n", in.MicroWhy)
	}

	// Redis CPU per store operation.
	if text, err := os.ReadFile(filepath.Join(dir, "rediscpu.md")); err == nil && len(bytes.TrimSpace(text)) > 0 {
		blocks["rediscpu"] = string(text)
	} else if err == nil || os.IsNotExist(err) {
		blocks["rediscpu"] = fmt.Sprintf("Not measured in this run: %s.\n", r.why("rediscpu", "rediscpu.md"))
	} else {
		return nil, err
	}

	headings := headingSlugs(doc)
	var missing []string
	link := func(h string) string {
		slug := Slug(h)
		if !headings[slug] {
			missing = append(missing, h)
		}
		return "[" + h + "](#" + slug + ")"
	}
	b.Reset()
	verdict.Write(&b, verdict.Compute(in), link)
	blocks["targets"] = b.String()
	// Every heading a miss could point to must exist, whether this run
	// missed or not, so that the next run's links hold.
	for _, h := range []string{verdict.SeeGaps, verdict.SeeRedisCPU, verdict.SeeMemstore, verdict.SeeTail} {
		link(h)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the targets link to sections the document lacks: %q", missing)
	}

	blocks["machine"] = machineBlock(r.machine)
	return blocks, nil
}

// scaleBlock renders one table of "How cost grows" and returns the medians
// it shows (nil when the table was not measured).
func scaleBlock(r run, kind string) (string, map[result.Cell]result.Result, error) {
	f, ok, err := r.open(filepath.Join("scale", kind+".jsonl"))
	if err != nil {
		return "", nil, err
	}
	var rs []result.Result
	if ok {
		rs, err = result.Read(f)
		f.Close()
		if err != nil {
			return "", nil, fmt.Errorf("scale/%s.jsonl: %v", kind, err)
		}
	}
	if len(rs) == 0 {
		why := r.why("scale", "scale/"+kind+".jsonl")
		return fmt.Sprintf("Not measured in this run: %s.\n", why), nil, nil
	}
	med, order := result.Medians(rs)
	var pre []result.Preload
	if pf, ok, err := r.open(filepath.Join("scale", kind+"-preload.jsonl")); err != nil {
		return "", nil, err
	} else if ok {
		pre, err = result.ReadPreloads(pf)
		pf.Close()
		if err != nil {
			return "", nil, fmt.Errorf("scale/%s-preload.jsonl: %v", kind, err)
		}
	}
	env := map[string]string{}
	if err := readEnv(filepath.Join(r.dir, "scale", kind+".env"), env); err != nil {
		return "", nil, err
	}
	var b bytes.Buffer
	if env["load_before"] != "" {
		fmt.Fprintf(&b, "`bench/scale.sh %s`: load average %s before, %s after.\n\n", kind, env["load_before"], env["load_after"])
	}
	if err := tables.Scale(&b, kind, med, order, pre); err != nil {
		return "", nil, err
	}
	return b.String(), med, nil
}

// machineBlock is the line that says where and how the figures were
// measured.
func machineBlock(m map[string]string) string {
	get := func(k string) string {
		if v := m[k]; v != "" {
			return v
		}
		return "unknown"
	}
	commit := get("commit")
	if m["dirty"] == "1" {
		commit += " with uncommitted changes"
	}
	return fmt.Sprintf("One run of `bench/all.sh` on %s, commit %s: %s, Redis %s, %s cores (%s), memory %s; "+
		"load average %s at the start, %s at the end; %s minutes in all. Settings: %s.\n",
		get("date"), commit, get("go"), get("redis"), get("cores"), get("cpu"), get("memory"),
		get("load_start"), get("load_end"), get("minutes"), get("settings"))
}

// readEnv reads key=value lines from name into m; a missing file leaves m
// as it is.
func readEnv(name string, m map[string]string) error {
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return sc.Err()
}
