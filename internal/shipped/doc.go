// Package shipped tests what the project ships besides Go code: the
// reference and man page, the shell completions, the Kamailio db_text
// tables and configs, the systemd units and the Dockerfile. It has no code
// of its own.
package shipped
