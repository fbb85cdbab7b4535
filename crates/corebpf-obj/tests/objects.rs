//! The object model of the test programs, checked against what their C sources declare.

use corebpf_btf::TypeKind;
use corebpf_obj::{
    AttachType, DataKind, ExternKind, MapType, Object, PinningType, ProgType, RelocKind,
};
use corebpf_testdata::{bytes, find_big_endian, objects, Cpu};

#[test]
fn every_object_parses() {
    for o in objects() {
        let data = o.read().unwrap();
        let obj = Object::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", o.label()));
        assert!(obj.license.is_some(), "{}: license", o.label());
        assert!(obj.programs().count() > 0, "{}: programs", o.label());
        assert!(obj.btf_ext().unwrap().is_some(), "{}: .BTF.ext", o.label());
        for p in obj.programs() {
            assert!(
                p.kind.is_some(),
                "{}: section {} not recognized",
                o.label(),
                p.section_name
            );
        }
    }
}

fn with<R>(name: &str, cpu: Cpu, f: impl FnOnce(&Object<'_>) -> R) -> R {
    let data = bytes(name, cpu);
    let obj = Object::parse(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    f(&obj)
}

#[test]
fn execsnoop_model() {
    for cpu in [Cpu::V3, Cpu::V4] {
        with("execsnoop", cpu, |obj| {
            assert_eq!(obj.license, Some("GPL"));
            let progs: Vec<_> = obj.programs().collect();
            assert_eq!(progs.len(), 2);
            let enter = progs
                .iter()
                .find(|p| p.name == "tracepoint__syscalls__sys_enter_execve")
                .unwrap();
            let k = enter.kind.unwrap();
            assert_eq!(
                (k.prog_type, k.attach_target),
                (ProgType::Tracepoint, "syscalls/sys_enter_execve")
            );
            let execs = obj.map("execs").unwrap();
            assert_eq!(execs.map_type(), Some(MapType::Hash));
            // pid_t key; struct exec_event = 4 ints + comm[16] + filename[128].
            assert_eq!(
                (execs.key_size, execs.value_size, execs.max_entries),
                (4, 160, 10240)
            );
            let btf = obj.btf.as_ref().unwrap();
            let vt = btf.type_by_id(execs.value_type.unwrap()).unwrap();
            assert_eq!(vt.name, "exec_event");
            let events = obj.map("events").unwrap();
            assert_eq!(
                (events.map_type(), events.max_entries),
                (Some(MapType::Ringbuf), 256 * 1024)
            );
            assert_eq!((events.key_size, events.value_size), (0, 0));
            let rodata = obj.data_section(".rodata").unwrap();
            assert_eq!(rodata.kind, DataKind::Rodata);
            let names: Vec<_> = rodata.variables.iter().map(|v| v.name).collect();
            for want in ["target_uid", "ignore_failed", "empty_event"] {
                assert!(names.contains(&want), "{names:?}");
            }
            let target_uid = rodata
                .variables
                .iter()
                .find(|v| v.name == "target_uid")
                .unwrap();
            let init = &rodata.data[target_uid.offset as usize..][..4];
            assert_eq!(i32::from_le_bytes(init.try_into().unwrap()), -1);
            assert!(target_uid.type_id.is_some());
            let bss = obj.data_section(".bss").unwrap();
            assert_eq!(
                bss.variables.iter().map(|v| v.name).collect::<Vec<_>>(),
                ["exec_count"]
            );
            let ext = obj
                .externs
                .iter()
                .find(|e| e.name == "LINUX_KERNEL_VERSION")
                .unwrap();
            assert_eq!((ext.kind, ext.weak), (ExternKind::Kconfig, false));
            // The program loads map `execs` and the extern.
            let ps = obj.program_section(enter.section).unwrap();
            assert!(ps.relocs.iter().any(
                |r| matches!(r.kind, RelocKind::Map { map } if obj.maps[map].name == "execs")
            ));
            assert!(ps.relocs.iter().any(|r| matches!(r.kind, RelocKind::Extern { ext, call: false } if obj.externs[ext].name == "LINUX_KERNEL_VERSION")));
        });
    }
}

#[test]
fn btf_maps_of_every_kind() {
    with("maps", Cpu::V3, |obj| {
        let m = |n: &str| obj.map(n).unwrap_or_else(|| panic!("no map {n}"));
        let flows = m("flows");
        assert_eq!(flows.map_type(), Some(MapType::Hash));
        assert_eq!(
            (flows.key_size, flows.value_size, flows.max_entries),
            (16, 16, 4096)
        );
        assert_eq!(flows.pinning_type(), Some(PinningType::ByName));
        let pch = m("percpu_hash");
        assert_eq!(
            (pch.map_type(), pch.key_size, pch.value_size, pch.map_flags),
            (Some(MapType::PercpuHash), 4, 8, 1)
        );
        assert_eq!((pch.key_type, pch.value_type), (None, None));
        assert_eq!(m("percpu_stats").map_type(), Some(MapType::PercpuArray));
        let lru = m("lru_cache");
        assert_eq!(
            (lru.map_type(), lru.key_size, lru.value_size, lru.numa_node),
            (Some(MapType::LruHash), 8, 4, Some(0))
        );
        assert_eq!(m("lru_percpu").map_type(), Some(MapType::LruPercpuHash));
        assert_eq!(
            (m("rb").map_type(), m("rb").max_entries),
            (Some(MapType::Ringbuf), 65536)
        );
        let pe = m("perf_events");
        assert_eq!(
            (pe.map_type(), pe.key_size, pe.value_size, pe.max_entries),
            (Some(MapType::PerfEventArray), 4, 4, 0)
        );
        let bloom = m("seen_ports");
        assert_eq!(
            (
                bloom.map_type(),
                bloom.key_size,
                bloom.value_size,
                bloom.map_extra
            ),
            (Some(MapType::BloomFilter), 0, 4, 3)
        );
        let st = m("stacks");
        assert_eq!(
            (st.map_type(), st.value_size),
            (Some(MapType::StackTrace), 127 * 8)
        );

        let outer = m("outer_array");
        assert_eq!(
            (
                outer.map_type(),
                outer.key_size,
                outer.value_size,
                outer.max_entries
            ),
            (Some(MapType::ArrayOfMaps), 4, 4, 4)
        );
        let inner = outer.inner.as_deref().unwrap();
        assert_eq!(inner.name, "inner_map");
        assert_eq!(
            (
                inner.map_type(),
                inner.key_size,
                inner.value_size,
                inner.max_entries
            ),
            (Some(MapType::Array), 4, 8, 8)
        );
        let slots: Vec<_> = outer
            .initial_slots
            .iter()
            .map(|s| (s.index, s.target))
            .collect();
        assert_eq!(slots, [(0, "inner_a"), (2, "inner_b")]);

        let oh = m("outer_hash");
        assert_eq!(
            (oh.map_type(), oh.pinning_type()),
            (Some(MapType::HashOfMaps), Some(PinningType::ByName))
        );
        let inner = oh.inner.as_deref().unwrap();
        assert_eq!(
            (
                inner.map_type(),
                inner.max_entries,
                inner.key_size,
                inner.value_size
            ),
            (Some(MapType::Hash), 64, 4, 4)
        );
        assert!(oh.initial_slots.is_empty());

        let jt = m("jump_table");
        assert_eq!(
            (jt.map_type(), jt.max_entries, jt.key_size, jt.value_size),
            (Some(MapType::ProgArray), 2, 4, 4)
        );
        assert!(jt.inner.is_none());
        let slots: Vec<_> = jt
            .initial_slots
            .iter()
            .map(|s| (s.index, s.target))
            .collect();
        assert_eq!(slots, [(1, "tail_a")]);

        // Every definition has its own BTF VAR and the maps lie in section order.
        assert_eq!(obj.maps.len(), 15);
        assert!(obj
            .maps
            .windows(2)
            .all(|w| w[0].offset + w[0].size <= w[1].offset));
        let socket: Vec<_> = obj
            .programs()
            .filter(|p| p.section_name == "socket")
            .map(|p| p.name)
            .collect();
        assert_eq!(socket, ["tail_a", "use_maps"]);
        let pe = obj.programs().find(|p| p.name == "sample_stack").unwrap();
        assert_eq!(pe.kind.unwrap().prog_type, ProgType::PerfEvent);
    });
}

#[test]
fn legacy_maps_both_endians() {
    let little = bytes("legacy_maps", Cpu::V3);
    let big = find_big_endian("legacy_maps").unwrap().read().unwrap();
    for data in [little, big] {
        let obj = Object::parse(&data).unwrap();
        assert_eq!(obj.license, Some("Dual BSD/GPL"));
        assert_eq!(obj.kernel_version, Some(0x060c00));
        let pkt = obj.map("pkt_count").unwrap();
        assert!(pkt.legacy);
        assert_eq!(
            (
                pkt.map_type(),
                pkt.key_size,
                pkt.value_size,
                pkt.max_entries,
                pkt.map_flags
            ),
            (Some(MapType::Array), 4, 8, 64, 0)
        );
        let pb = obj.map("proto_bytes").unwrap();
        assert_eq!(
            (
                pb.map_type(),
                pb.key_size,
                pb.value_size,
                pb.max_entries,
                pb.map_flags
            ),
            (Some(MapType::Hash), 4, 8, 256, 1)
        );
        let ps = &obj
            .program_sections
            .iter()
            .find(|p| p.name == "socket")
            .unwrap();
        let maps: Vec<_> = ps
            .relocs
            .iter()
            .filter_map(|r| match r.kind {
                RelocKind::Map { map } => Some(obj.maps[map].name),
                _ => None,
            })
            .collect();
        assert_eq!(maps, ["pkt_count", "proto_bytes", "proto_bytes"]);
    }
}

#[test]
fn global_data_sections_both_endians() {
    let little = bytes("globals", Cpu::V3);
    let big = find_big_endian("globals").unwrap().read().unwrap();
    for (data, be) in [(little, false), (big, true)] {
        let obj = Object::parse(&data).unwrap();
        let u32_at = |b: &[u8]| {
            let a: [u8; 4] = b[..4].try_into().unwrap();
            if be {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }
        };
        let names = |s: &str| {
            obj.data_section(s)
                .unwrap()
                .variables
                .iter()
                .map(|v| v.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(".rodata"), ["snap_len", "match_proto", "greeting"]);
        assert_eq!(names(".data"), ["checksum", "generation"]);
        assert_eq!(names(".bss"), ["packets_seen", "bytes_seen", "len_range"]);
        assert_eq!(names(".data.tuning"), ["sample_rate", "drop_budget"]);
        assert_eq!(names(".rodata.table"), ["lookup_table"]);
        let ro = obj.data_section(".rodata").unwrap();
        assert_eq!(u32_at(ro.data), 96, "snap_len");
        let table = obj.data_section(".rodata.table").unwrap();
        assert_eq!((table.kind, table.size), (DataKind::Rodata, 32));
        assert_eq!(u32_at(&table.data[28..]), 128);
        let tuning = obj.data_section(".data.tuning").unwrap();
        assert_eq!(
            (tuning.kind, u32_at(tuning.data), u32_at(&tuning.data[4..])),
            (DataKind::Data, 100, 5)
        );
        let bss = obj.data_section(".bss").unwrap();
        assert_eq!((bss.kind, bss.size, bss.data.len()), (DataKind::Bss, 24, 0));
        // Every variable has its BTF type.
        let btf = obj.btf.as_ref().unwrap();
        for d in &obj.data {
            for v in &d.variables {
                let t = v
                    .type_id
                    .unwrap_or_else(|| panic!("{} has no type", v.name));
                assert_eq!(btf.size_of(t).unwrap(), v.size, "{}", v.name);
            }
        }
        let ps = obj
            .program_sections
            .iter()
            .find(|p| p.name == "socket")
            .unwrap();
        let data_refs: Vec<_> = ps
            .relocs
            .iter()
            .filter_map(|r| match r.kind {
                RelocKind::Data { data, offset } => {
                    obj.data[data].variable_at(offset as u64).map(|v| v.name)
                }
                _ => None,
            })
            .collect();
        for want in [
            "packets_seen",
            "checksum",
            "lookup_table",
            "sample_rate",
            "drop_budget",
            "snap_len",
            "len_range",
        ] {
            assert!(data_refs.contains(&want), "{want} in {data_refs:?}");
        }
    }
}

#[test]
fn subprogram_calls_and_callbacks() {
    for cpu in [Cpu::V3, Cpu::V4] {
        with("subprogs", cpu, |obj| {
            let text = obj.program_sections.iter().find(|p| p.is_text()).unwrap();
            let funcs: Vec<_> = text.functions.iter().map(|f| (f.name, f.global)).collect();
            for want in [
                ("bucket_of", true),
                ("fold", false),
                ("loop_step", false),
                ("sum_elem", false),
            ] {
                assert!(funcs.contains(&want), "{want:?} in {funcs:?}");
            }
            let ps = obj
                .program_sections
                .iter()
                .find(|p| p.name == "raw_tp/sys_enter")
                .unwrap();
            assert_eq!(ps.kind.unwrap().prog_type, ProgType::RawTracepoint);
            let target = |section: usize, insn: usize| {
                obj.program_section(section)
                    .unwrap()
                    .function_starting_at(insn)
                    .map(|f| f.name)
                    .unwrap_or("?")
            };
            let calls: Vec<_> = ps
                .relocs
                .iter()
                .filter_map(|r| match r.kind {
                    RelocKind::Call { section, insn } => Some(target(section, insn)),
                    _ => None,
                })
                .collect();
            assert_eq!(calls, ["fold", "bucket_of"]);
            let addrs: Vec<_> = ps
                .relocs
                .iter()
                .filter_map(|r| match r.kind {
                    RelocKind::FuncAddr { section, insn } => Some(target(section, insn)),
                    _ => None,
                })
                .collect();
            assert_eq!(addrs, ["loop_step", "sum_elem"]);
        });
    }
}

#[test]
fn externs_kconfig_ksym_kfunc() {
    with("kconfig_ksym", Cpu::V3, |obj| {
        let e = |n: &str| {
            *obj.externs
                .iter()
                .find(|x| x.name == n)
                .unwrap_or_else(|| panic!("no extern {n}"))
        };
        assert_eq!(
            (
                e("LINUX_KERNEL_VERSION").kind,
                e("LINUX_KERNEL_VERSION").weak
            ),
            (ExternKind::Kconfig, false)
        );
        assert_eq!(
            (e("CONFIG_HZ").kind, e("CONFIG_HZ").weak),
            (ExternKind::Kconfig, true)
        );
        assert_eq!(e("CONFIG_BPF_JIT").kind, ExternKind::Kconfig);
        assert_eq!(e("bpf_prog_active").kind, ExternKind::Ksym { typed: false });
        assert_eq!(
            (
                e("corebpf_missing_ksym").kind,
                e("corebpf_missing_ksym").weak
            ),
            (ExternKind::Ksym { typed: true }, true)
        );
        assert_eq!(e("bpf_task_acquire").kind, ExternKind::Kfunc);
        assert_eq!(
            (e("bpf_cgroup_acquire").kind, e("bpf_cgroup_acquire").weak),
            (ExternKind::Kfunc, true)
        );
        let btf = obj.btf.as_ref().unwrap();
        let proto = btf
            .type_by_id(e("bpf_task_acquire").type_id.unwrap())
            .unwrap();
        assert!(matches!(proto.kind, TypeKind::FuncProto { .. }));
        let ps = obj
            .program_sections
            .iter()
            .find(|p| p.name == "tp_btf/task_newtask")
            .unwrap();
        let k = ps.kind.unwrap();
        assert_eq!(
            (k.prog_type, k.expected_attach_type, k.attach_target),
            (
                ProgType::Tracing,
                Some(AttachType::TraceRawTp),
                "task_newtask"
            )
        );
        let kfunc_calls: Vec<_> = ps
            .relocs
            .iter()
            .filter_map(|r| match r.kind {
                RelocKind::Extern { ext, call: true } => Some(obj.externs[ext].name),
                _ => None,
            })
            .collect();
        assert_eq!(kfunc_calls, ["bpf_task_acquire", "bpf_task_release"]);
    });
}

#[test]
fn program_types_of_the_test_programs() {
    let expect = [
        (
            "xdp_redirect",
            "xdp_cpu_spread",
            ProgType::Xdp,
            Some(AttachType::Xdp),
        ),
        (
            "xdp_redirect",
            "xdp_on_cpu",
            ProgType::Xdp,
            Some(AttachType::XdpCpumap),
        ),
        (
            "xdp_redirect",
            "xdp_frags_tx",
            ProgType::Xdp,
            Some(AttachType::Xdp),
        ),
        ("tc_cgroup", "tc_ingress_count", ProgType::SchedCls, None),
        (
            "tc_cgroup",
            "tcx_egress_filter",
            ProgType::SchedCls,
            Some(AttachType::TcxEgress),
        ),
        (
            "tc_cgroup",
            "cgroup_ingress",
            ProgType::CgroupSkb,
            Some(AttachType::CgroupInetIngress),
        ),
        (
            "tc_cgroup",
            "cgroup_egress",
            ProgType::CgroupSkb,
            Some(AttachType::CgroupInetEgress),
        ),
        (
            "tc_cgroup",
            "sock_create",
            ProgType::CgroupSock,
            Some(AttachType::CgroupInetSockCreate),
        ),
        (
            "tc_cgroup",
            "connect4",
            ProgType::CgroupSockAddr,
            Some(AttachType::CgroupInet4Connect),
        ),
        ("tc_cgroup", "socket_len", ProgType::SocketFilter, None),
        (
            "fentry",
            "unlink_entry",
            ProgType::Tracing,
            Some(AttachType::TraceFentry),
        ),
        (
            "fentry",
            "unlink_exit",
            ProgType::Tracing,
            Some(AttachType::TraceFexit),
        ),
        (
            "fentry",
            "task_alloc_ret",
            ProgType::Tracing,
            Some(AttachType::ModifyReturn),
        ),
        (
            "fentry",
            "sleepable_getpgid",
            ProgType::Tracing,
            Some(AttachType::TraceFentry),
        ),
        (
            "fentry",
            "deny_nobody_exec",
            ProgType::Lsm,
            Some(AttachType::LsmMac),
        ),
        (
            "iter_task",
            "dump_task",
            ProgType::Tracing,
            Some(AttachType::TraceIter),
        ),
        ("iter_task", "profile", ProgType::PerfEvent, None),
        ("bashreadline", "printret", ProgType::Kprobe, None),
        ("bashreadline", "malloc_enter", ProgType::Kprobe, None),
        ("bashreadline", "nanosleep_enter", ProgType::Kprobe, None),
        (
            "runqlat",
            "sched_wakeup",
            ProgType::Tracing,
            Some(AttachType::TraceRawTp),
        ),
        (
            "runqlat",
            "handle_sched_switch",
            ProgType::RawTracepoint,
            None,
        ),
        ("opensnoop", "count_openat", ProgType::Tracepoint, None),
        ("core_fields", "core_probe", ProgType::Tracepoint, None),
    ];
    for (file, prog, ty, attach) in expect {
        with(file, Cpu::V4, |obj| {
            let p = obj
                .programs()
                .find(|p| p.name == prog)
                .unwrap_or_else(|| panic!("{file}: no {prog}"));
            let k = p.kind.unwrap();
            assert_eq!(
                (k.prog_type, k.expected_attach_type),
                (ty, attach),
                "{file}/{prog}"
            );
        });
    }
    with("fentry", Cpu::V3, |obj| {
        let p = obj
            .programs()
            .find(|p| p.name == "sleepable_getpgid")
            .unwrap();
        assert!(p.kind.unwrap().sleepable);
        let rq = obj.externs.iter().find(|e| e.name == "runqueues").unwrap();
        assert_eq!(
            (rq.kind, rq.weak),
            (ExternKind::Ksym { typed: true }, false)
        );
        let btf = obj.btf.as_ref().unwrap();
        assert_eq!(
            corebpf_obj::ctype::type_name(btf, rq.type_id.unwrap()),
            "const struct rq"
        );
    });
    with("bashreadline", Cpu::V3, |obj| {
        let p = obj.programs().find(|p| p.name == "printret").unwrap();
        assert_eq!(p.kind.unwrap().attach_target, "/bin/bash:readline");
        assert!(p.kind.unwrap().is_return_probe());
    });
    with("opensnoop", Cpu::V3, |obj| {
        let on_openat: Vec<_> = obj
            .programs()
            .filter(|p| p.kind.unwrap().attach_target == "syscalls/sys_enter_openat")
            .map(|p| p.name)
            .collect();
        assert_eq!(on_openat.len(), 2, "{on_openat:?}");
    });
}
