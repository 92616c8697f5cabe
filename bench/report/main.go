// Command report reads the JSON lines that bench/load prints (from the files
// named, or standard input) and prints the main table of BENCHMARKS.md,
// each figure the median of its rounds next to its ratio to the floor of
// the same run, then issue 13's targets that these figures judge. With
// -scale it prints instead one table of bench/scale.sh. bench/docgen writes
// the same tables into BENCHMARKS.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/seed58a3dad2/session/bench/internal/result"
	"github.com/seed58a3dad2/session/bench/internal/tables"
	"github.com/seed58a3dad2/session/bench/internal/verdict"
)

func main() {
	log.SetFlags(0)
	scale := flag.String("scale", "", "print bench/scale.sh's table of this dimension: sessions, keys, clients or cluster")
	preloads := flag.String("preload", "", "with -scale: bench/server's preload reports (memory per session)")
	flag.Parse()
	var in []io.Reader
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	var rs []result.Result
	for _, r := range in {
		more, err := result.Read(r)
		if err != nil {
			log.Fatal(err)
		}
		rs = append(rs, more...)
	}
	med, order := result.Medians(rs)

	if *scale != "" {
		var pre []result.Preload
		if *preloads != "" {
			f, err := os.Open(*preloads)
			if err != nil {
				log.Fatal(err)
			}
			defer f.Close()
			if pre, err = result.ReadPreloads(f); err != nil {
				log.Fatalf("%s: %v", *preloads, err)
			}
		}
		if err := tables.Scale(os.Stdout, *scale, med, order, pre); err != nil {
			log.Fatal(err)
		}
		return
	}

	tables.Main(os.Stdout, med)
	fmt.Println()
	fmt.Println("Issue 13's targets that this table judges (bench/all.sh judges them all):")
	fmt.Println()
	const elsewhere = "bench/all.sh measures it"
	rows := verdict.Compute(verdict.Inputs{Main: med, MicroWhy: elsewhere, MemoryWhy: elsewhere, ScaleWhy: elsewhere})
	verdict.Write(os.Stdout, rows, func(heading string) string { return "\"" + heading + "\" in BENCHMARKS.md" })
}
