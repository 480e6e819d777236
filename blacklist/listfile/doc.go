// Package listfile moves numbers in and out of blacklists in bulk: it reads
// list files and dialers' lead files (CSV or one number per line, gzip or
// not) in constant memory, imports them into a list (merge, or an atomic
// replace that no call sees half done), exports a list to CSV, and scrubs a
// lead file against the lists a campaign's calls are checked against. The
// CLI and the HTTP API share it.
package listfile
