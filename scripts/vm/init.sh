#!/bin/sh
# PID 1 of the GPIO test VM (busybox sh). Mounts the kernel filesystems,
# loads configfs.ko and gpio-sim.ko, creates simulated GPIO chips through
# configfs, runs every /tests/*.test with MWI_GPIOSIM=1, prints
# "MWI-VM: EXIT <status>" on the serial console and powers off.
PATH=/bin
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp

fail() { echo "MWI-VM: setup failed: $*"; echo "MWI-VM: EXIT 97"; poweroff -f; sleep 5; }
insmod /lib/configfs.ko || fail "insmod configfs.ko"
insmod /lib/gpio-sim.ko || fail "insmod gpio-sim.ko"
mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
# The ALSA loopback sound card (snd-aloop, card "Loopback"): what is played
# on hw:Loopback,0 is captured on hw:Loopback,1 (MWI_ALOOP=1 for the tests).
for m in /lib/snd/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" || fail "insmod $m"
done
[ -e /proc/asound/Loopback ] && export MWI_ALOOP=1 && echo "MWI-VM: snd-aloop: $(head -1 /proc/asound/cards)"

# sim_chip NAME LABEL LINES NAMEPREFIX: one gpio-sim device with one bank.
# Lines are named NAMEPREFIX<offset> unless NAMEPREFIX is empty.
sim_chip() {
	d=/sys/kernel/config/gpio-sim/$1
	mkdir "$d" "$d/bank0" || fail "mkdir $d"
	echo "$2" >"$d/bank0/label"
	echo "$3" >"$d/bank0/num_lines"
	if [ -n "$4" ]; then
		i=0
		while [ $i -lt "$3" ]; do
			mkdir "$d/bank0/line$i" && echo "$4$i" >"$d/bank0/line$i/name"
			i=$((i + 1))
		done
	fi
	echo 1 >"$d/live" || fail "enable $1"
	echo "MWI-VM: $1: $(cat "$d/bank0/chip_name") on $(cat "$d/dev_name"), label $2, $3 lines"
}
# A decoy chip first, so that the named chip is never gpiochip0.
sim_chip decoy mwi-decoy 4 ""
# Lines named like a Raspberry Pi's (GPIO0..GPIO27): the boards' line names.
sim_chip pi mwi-sim-pi 28 GPIO
# Unnamed lines: the chip+offset fallback.
sim_chip raw mwi-sim-raw 8 ""

status=0
for t in /tests/*.test; do
	[ -e "$t" ] || continue
	echo "MWI-VM: running $t"
	cd /tmp
	run=""
	[ -e "${t%.test}.run" ] && run="-test.run=$(cat "${t%.test}.run")"
	MWI_GPIOSIM=1 "$t" $(cat /tests/args 2>/dev/null) $run
	rc=$?
	echo "MWI-VM: $t exit $rc"
	[ $rc -ne 0 ] && status=$rc
done
echo "MWI-VM: EXIT $status"
sync
poweroff -f
sleep 10
