import ArgumentParser
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// `tweedie bench`: times one denoiser forward call (or a VAE decode, or a square SGEMM) the way the peers in
/// bench/ time theirs: fixed-seed inputs, warm-up calls, then the median of timed calls on the monotonic clock.
/// `--json` prints one object whose keys `median_ms`, `gflops`, `peak_rss_mb` outside checks rely on.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time one model forward call, or the machine's SGEMM rate.",
        discussion: """
            With --model, times forward(sample, timesteps, classLabels) of a UNet2DModel or DiT folder (a VAE \
            folder times decode) on fixed-seed random inputs. With --sgemm N, times an N x N x N SGEMM instead. \
            GFLOP/s counts the GEMM work of one call (FlopCounter). After the timed calls, one more call and \
            five Euler sampling steps (two uncounted) run with the counting malloc on: allocations per call and \
            per step (the largest counted step), with the bytes they asked for.
            """)

    @Option(help: ArgumentHelp("Model folder (config.json + diffusion_pytorch_model.safetensors).", valueName: "dir"))
    var model: String?

    @Option(name: .customLong("sgemm"),
            help: ArgumentHelp("Square SGEMM size to time instead of a model.", valueName: "n"))
    var sgemmSize: Int?

    @Option(help: "Samples per forward call.")
    var batch: Int = 1

    @OptionGroup var compute: ComputeOptions

    @Option(help: "Untimed calls before timing.")
    var warmup: Int = 2

    @Option(help: "Timed calls; the median is reported.")
    var iters: Int = 10

    @Option(help: "Timestep given to every sample.")
    var timestep: Float = 500

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Convolution precision: f32 (default) or bf16 (needs AVX512-BF16 or AMX).",
                               valueName: "f32|bf16"))
    var precision: String = "f32"

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(inversion: .prefixedNo,
          help: "After timing, count heap allocations of one call and of one steady-state Euler sampling step.")
    var allocations = true

    func run() throws {
        try checkFlags()
        try compute.apply()
        ComputePrecision.current = try ComputePrecision.named(precision)
        let result: BenchResult
        if let n = sgemmSize {
            result = benchSGEMM(n)
        } else {
            result = try benchModel(model!)
        }
        print(json ? result.json() : result.text())
    }

    private func checkFlags() throws {
        if model != nil && sgemmSize != nil { throw TweedieError.badInput("--model and --sgemm: give one, not both") }
        if model == nil && sgemmSize == nil { throw TweedieError.badInput("--model: missing (or give --sgemm N)") }
        if let n = sgemmSize, n < 1 { throw TweedieError.badInput("--sgemm: must be at least 1, got \(n)") }
        if batch < 1 { throw TweedieError.badInput("--batch: must be at least 1, got \(batch)") }
        if warmup < 0 { throw TweedieError.badInput("--warmup: must be at least 0, got \(warmup)") }
        if iters < 1 { throw TweedieError.badInput("--iters: must be at least 1, got \(iters)") }
        if !timestep.isFinite { throw TweedieError.badInput("--timestep: must be a finite number") }
        if let dir = model {
            var st = stat()
            guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw TweedieError.badInput("--model \(dir): no such folder")
            }
        }
    }

    // MARK: - Model

    private func benchModel(_ dir: String) throws -> BenchResult {
        let loadStart = monotonicNanoseconds()
        let loaded = try ModelFolder.load(dir)
        let loadMs = Double(monotonicNanoseconds() - loadStart) / 1e6
        var rng = benchRandom(seed: seed)

        let call: () throws -> Tensor
        let inputShape: [Int]
        // Ask for a capability, not a kind: any denoiser runs a forward call, any autoencoder a decode.
        if let m = loaded.diffusionModel {
            inputShape = [batch] + m.sampleShape
            let x = Tensor.gaussian(shape: inputShape, rng: &rng)
            let t = [Float](repeating: timestep, count: batch)
            let labels = m.numClassEmbeds.map { n in (0..<batch).map { _ in Int(rng.next() % UInt64(max(1, n))) } }
            call = { try m.forward(x, timesteps: t, classLabels: labels) }
        } else if let vae = loaded as? LatentAutoencoder {
            inputShape = [batch] + (try vaeLatentShape(vae, folder: dir))
            let z = Tensor.gaussian(shape: inputShape, rng: &rng)
            call = { try vae.decode(z) }
        } else {
            throw TweedieError.badInput("\(dir): \(loaded.className) is neither a denoiser nor an autoencoder")
        }

        var outputShape: [Int] = []
        let (times, flops) = try timeCalls { outputShape = try call().shape }
        var counts: [(String, JSONScalar)] = []
        if allocations && AllocationCount.available {
            // Timing ran the warm-up, so this call is a steady-state one.
            let perCall = try AllocationCount.of { _ = try call() }
            counts += [("allocs_per_call", .int(perCall.calls)), ("alloc_bytes_per_call", .int(perCall.bytes))]
            if let m = loaded.diffusionModel {
                let x = Tensor.gaussian(shape: inputShape, rng: &rng)
                let labels = m.numClassEmbeds.map { n in (0..<batch).map { $0 % max(1, n) } }
                let perStep = try stepAllocations(model: m, x: x, labels: labels)
                counts += [("allocs_per_step", .int(perStep.calls)), ("alloc_bytes_per_step", .int(perStep.bytes))]
            }
        }
        var extra: [(String, JSONScalar)] = [
            ("model", .string(lastPathComponent(dir))), ("class_name", .string(loaded.className)),
            ("parameters", .int(loaded.parameterCount)), ("batch", .int(batch)),
            ("input_shape", .ints(inputShape)), ("output_shape", .ints(outputShape)),
            ("load_ms", .double(loadMs)),
        ] + counts
        if loaded.diffusionModel == nil { extra.append(("call", .string("decode"))) } else {
            extra.append(("call", .string("forward")))
            extra.append(("timestep", .double(Double(timestep))))
        }
        return BenchResult(times: times, flopsPerCall: flops, extra: extra, warmup: warmup)
    }

    /// Latent shape [C, H, W] a VAE decodes: its latent channels at sample_size over its downsampling factor.
    /// The VAE config type does not keep sample_size, so it is read from config.json as diffusers does.
    private func vaeLatentShape(_ vae: LatentAutoencoder, folder dir: String) throws -> [Int] {
        let cfg = try JSONConfig(path: dir + "/config.json")
        // sample_size is an int in most folders, a [H, W] pair in some.
        let size: Int
        if let s = try? cfg.int("sample_size") {
            size = s
        } else {
            size = try cfg.ints("sample_size", default: [32])[0]
        }
        let shape = vae.latentShape(height: size, width: size)
        return [shape[0], max(1, shape[1]), max(1, shape[2])]
    }

    // MARK: - SGEMM

    private func benchSGEMM(_ n: Int) -> BenchResult {
        var rng = benchRandom(seed: seed)
        let a = Tensor.gaussian(shape: [n, n], rng: &rng), b = Tensor.gaussian(shape: [n, n], rng: &rng)
        var c = Tensor(shape: [n, n])
        let (times, flops) = timeCalls {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        sgemm(m: n, n: n, k: n, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                    }
                }
            }
        }
        return BenchResult(times: times, flopsPerCall: flops,
                           extra: [("sgemm_n", .int(n))], warmup: warmup)
    }

    // MARK: - Timing

    /// Warm-up calls, then `iters` timed calls; returns per-call milliseconds and the GEMM flops of one call
    /// (counted over the timed calls, so no extra call is needed).
    private func timeCalls(_ body: () throws -> Void) rethrows -> (times: [Double], flopsPerCall: Int) {
        for _ in 0..<warmup { try body() }
        FlopCounter.reset()
        var times = [Double]()
        times.reserveCapacity(iters)
        for _ in 0..<iters {
            let start = monotonicNanoseconds()
            try body()
            times.append(Double(monotonicNanoseconds() - start) / 1e6)
        }
        return (times, FlopCounter.count / iters)
    }
}

/// One benchmark's measurements and how to print them.
private struct BenchResult {
    let times: [Double]
    let flopsPerCall: Int
    let extra: [(String, JSONScalar)]
    let warmup: Int

    var medianMs: Double {
        let s = times.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
    var gflops: Double { medianMs > 0 ? Double(flopsPerCall) / (medianMs * 1e6) : 0 }

    func json() -> String {
        var fields: [(String, JSONScalar)] = [
            ("median_ms", .double(medianMs)), ("gflops", .double(gflops)), ("peak_rss_mb", .double(PeakMemory.megabytes)),
        ]
        fields += extra
        fields += [
            ("gflop_per_call", .double(Double(flopsPerCall) / 1e9)), ("min_ms", .double(times.min() ?? 0)),
            ("warmup", .int(warmup)), ("iters", .int(times.count)), ("times_ms", .doubles(times)),
            ("threads", .int(Runtime.threads)), ("openblas_core", .string(SystemInfo.openBLASCore)),
            ("openblas_config", .string(SystemInfo.openBLASConfig)), ("cpu_model", .string(SystemInfo.cpuModel)),
            ("convolution", .string(ConvolutionBackend.label)),
            ("precision", .string(ComputePrecision.current.rawValue)),
        ]
        return JSONOutput.object(Dictionary(fields.map { ($0.0, $0.1.json) }, uniquingKeysWith: { a, _ in a })).text
    }

    func text() -> String {
        var lines: [String] = []
        let info = Dictionary(extra, uniquingKeysWith: { a, _ in a })
        if case .int(let n)? = info["sgemm_n"] {
            lines.append("sgemm      \(n) x \(n) x \(n), row-major Float32")
        } else {
            var params = ""
            if case .int(let n)? = info["parameters"] { params = "\(fixed(Double(n) / 1e6, 2))M parameters" }
            lines.append("model      \(info["model"]?.plain ?? "") (\(info["class_name"]?.plain ?? ""), \(params))")
            lines.append("call       \(info["call"]?.plain ?? "") input \(info["input_shape"]?.plain ?? "")"
                + " -> \(info["output_shape"]?.plain ?? "")")
        }
        lines.append("time       \(fixed(medianMs, 2)) ms per call (median of \(times.count);"
            + " min \(fixed(times.min() ?? 0, 2)), max \(fixed(times.max() ?? 0, 2)); \(warmup) warm-up)")
        lines.append("compute    \(fixed(Double(flopsPerCall) / 1e9, 3)) GFLOP per call, \(fixed(gflops, 1)) GFLOP/s")
        lines.append("memory     peak RSS \(fixed(PeakMemory.megabytes, 1)) MB")
        if case .int(let calls)? = info["allocs_per_call"], case .int(let bytes)? = info["alloc_bytes_per_call"] {
            var line = "allocs     \(calls) per call (\(fixed(Double(bytes) / 1e6, 2)) MB)"
            if case .int(let c)? = info["allocs_per_step"], case .int(let b)? = info["alloc_bytes_per_step"] {
                line += ", \(c) per sampling step (\(fixed(Double(b) / 1e6, 2)) MB), steady state"
            }
            lines.append(line)
        }
        lines.append("threads    \(Runtime.threads)")
        lines.append("openblas   \(SystemInfo.openBLASCore) (\(SystemInfo.openBLASConfig))")
        lines.append("conv       \(ConvolutionBackend.label), \(ComputePrecision.current.rawValue)")
        return lines.joined(separator: "\n")
    }
}

/// The few value kinds the report needs: numbers with 4 decimals in JSON; strings and shapes also as plain text.
private enum JSONScalar {
    case int(Int), double(Double), string(String), ints([Int]), doubles([Double])

    var json: JSONOutput {
        switch self {
        case .int(let v): return .int(v)
        case .double(let v): return .number(v, decimals: 4)
        case .string(let s): return .string(s)
        case .ints(let v): return .ints(v)
        case .doubles(let v): return .numbers(v, decimals: 4)
        }
    }

    var plain: String {
        switch self {
        case .string(let s): return s
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ", ") + "]"
        default: return json.text
        }
    }
}

/// `v` with `digits` decimals, trailing zeros trimmed (plain "%.*f" formatting, no Foundation).
private func fixed(_ v: Double, _ digits: Int) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    _ = withVaList([Int32(digits), v]) { vsnprintf(&buf, 64, "%.*f", $0) }
    var s = String(cString: buf)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

private func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

private func lastPathComponent(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    return p.split(separator: "/").last.map(String.init) ?? String(p)
}

/// The benchmark inputs' generator for `--seed`; the values only need to be reproducible.
private func benchRandom(seed: UInt64) -> SplitMix64 { SplitMix64(seed: seed &+ SplitMix64.increment) }

private extension SplitMix64 {
    /// Uniform in (0, 1], never 0 so the logarithm below stays finite.
    mutating func unit() -> Float { Float((next() >> 40) + 1) * 0x1p-24 }
}

private extension Tensor {
    /// Standard normal entries (Box-Muller) from the generator.
    static func gaussian(shape: [Int], rng: inout SplitMix64) -> Tensor {
        Tensor(shape: shape) { buf in
            var i = 0
            while i < buf.count {
                let r = (-2 * logf(rng.unit())).squareRoot(), a = 2 * Float.pi * rng.unit()
                buf[i] = r * cosf(a)
                if i + 1 < buf.count { buf[i + 1] = r * sinf(a) }
                i += 2
            }
        }
    }
}
