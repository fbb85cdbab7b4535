# The guest part of the suite, run by guest-init.sh inside the Debian 6.1 guest.
# One line per check:
#   t NAME COMMAND [ARGS...]   passes when COMMAND exits 0; stdout size and sha256 are reported
#   send NAME PATH             copies PATH out to the host (compared there)
# /objects holds the test objects compiled on the host (NAME.v3.o, NAME.v4.o).

send vmlinux.btf /sys/kernel/btf/vmlinux
t btf-dump-raw corebpf btf dump /sys/kernel/btf/vmlinux --format raw
t btf-find-task-struct corebpf btf find task_struct
t btf-dump-c corebpf btf dump --format c
for o in /objects/*.o; do
	[ -e "$o" ] || continue
	t "objdump-$(basename "$o" .o)" corebpf objdump "$o"
done
