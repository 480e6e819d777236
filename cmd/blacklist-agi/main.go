// Command blacklist-agi is a do-not-call guard for Asterisk outbound
// campaigns: a FastAGI server that checks each destination against Redis
// blacklists and hangs blocked calls up before they ring.
//
// Subcommands: serve (the FastAGI server), check (one number, from the shell).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a specific exit code out of a subcommand.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	root := &cobra.Command{
		Use:           "blacklist-agi",
		Short:         "Do-not-call guard for Asterisk outbound campaigns (FastAGI + Redis)",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringP("config", "c", "", "main config file (YAML); environment variables BLACKLIST_* override it")
	root.AddCommand(newServeCommand(), newCheckCommand(),
		newAddCommand(), newRemoveCommand(), newListsCommand(), newLsCommand(), newCountCommand(),
		newSearchCommand(), newImportCommand(), newExportCommand(), newScrubCommand(), newSweepCommand(),
		newStatsCommand())
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "blacklist-agi:", err)
		os.Exit(1)
	}
}
