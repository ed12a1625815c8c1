import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// The process's oneDNN CPU engine and in-order stream, created on first use. oneDNN picks its kernels for the
/// CPU it finds at run time (AVX2, AVX-512, AMX), so one build runs on every x86-64-v3 machine.
final class OneDNNRuntime: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    /// nil when no CPU engine can be created: the callers then keep to im2col.
    static let shared: OneDNNRuntime? = OneDNNRuntime()

    private init?() {
        var engine: dnnl_engine_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success, let engine else { return nil }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)) == dnnl_success,
              let stream else {
            dnnl_engine_destroy(engine)
            return nil
        }
        self.engine = engine
        self.stream = stream
    }

    /// The linked library's version ("2.6.3").
    static var version: String? {
        guard let v = dnnl_version()?.pointee else { return nil }
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// One execution argument: oneDNN's index (TWEEDIE_DNNL_ARG_*) and the memory bound to it.
    typealias Argument = (Int32, dnnl_memory_t)

    /// Runs `primitive` on the stream with two to four arguments (`wait()` waits for it). The arguments go to
    /// oneDNN from stack storage, not an array: this runs up to three times per convolution, and a steady-state
    /// call should not allocate (`tweedie bench` counts it).
    func execute(_ primitive: dnnl_primitive_t, _ a: Argument, _ b: Argument, _ c: Argument? = nil,
                 _ d: Argument? = nil) {
        // Debian's oneDNN runs its kernels on libgomp, whose team size is per thread: set it before every call.
        OpenMPTeam.setThreads(Runtime.threads)
        let status = withUnsafeTemporaryAllocation(of: dnnl_exec_arg_t.self, capacity: 4) { list in
            list[0] = dnnl_exec_arg_t(arg: a.0, memory: a.1)
            list[1] = dnnl_exec_arg_t(arg: b.0, memory: b.1)
            var n = 2
            if let c { list[n] = dnnl_exec_arg_t(arg: c.0, memory: c.1); n += 1 }
            if let d { list[n] = dnnl_exec_arg_t(arg: d.0, memory: d.1); n += 1 }
            return dnnl_primitive_execute(primitive, stream, Int32(n), list.baseAddress)
        }
        precondition(status == dnnl_success, "oneDNN: primitive execution failed (status \(status.rawValue))")
    }

    /// Waits for every primitive submitted so far.
    func wait() { dnnl_stream_wait(stream) }

    /// A memory descriptor of `dims` with format `tag` and element type `type` (Float32 unless given).
    static func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t, _ type: dnnl_data_type_t = dnnl_f32)
        -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        let status = dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type, tag)
        precondition(status == dnnl_success, "oneDNN: cannot describe \(dims)")
        return md
    }

    /// A memory object for `md` without a buffer; the caller points it at its data before each use.
    func memory(_ md: dnnl_memory_desc_t) -> dnnl_memory_t? {
        var md = md
        var memory: dnnl_memory_t?
        guard dnnl_memory_create(&memory, &md, engine, nil) == dnnl_success else { return nil }
        return memory
    }

    /// A reorder primitive from layout `from` to layout `to`, or nil when they are the same layout.
    func reorder(_ from: dnnl_memory_desc_t, _ to: dnnl_memory_desc_t) -> dnnl_primitive_t? {
        var from = from, to = to
        if dnnl_memory_desc_equal(&from, &to) != 0 { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&pd, &from, engine, &to, engine, nil) == dnnl_success,
              let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success else { return nil }
        return primitive
    }
}

/// Points a oneDNN memory object at `pointer` for the next execution.
@inline(__always)
func bind(_ memory: dnnl_memory_t, _ pointer: UnsafeRawPointer) {
    dnnl_memory_set_data_handle(memory, UnsafeMutableRawPointer(mutating: pointer))
}
