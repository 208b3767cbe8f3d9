package main

import "github.com/urfave/cli/v3"

func newBenchServeCommand() *cli.Command { return &cli.Command{Name: "serve"} }
