package listfile

import "github.com/blacklist-agi/blacklist-agi/blacklist"

// isCompact reports whether l is stored in the compact layout.
// TODO(listfile): l.Layout == blacklist.LayoutCompact once package blacklist has it.
func isCompact(l blacklist.List) bool { return false }
