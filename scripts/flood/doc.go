// Command flood is the traffic generator of scripts/flood.sh, which
// measures what a flood of spoofed packets costs the agent (issue 11).
package main
