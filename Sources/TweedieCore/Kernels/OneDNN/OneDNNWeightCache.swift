#if canImport(Glibc)
import Glibc
#endif

/// Constant convolution weights already reordered into a primitive's layout, so a model's weights are reordered
/// once (on their second use) rather than at every call.
///
/// An entry is keyed by the address of the weight tensor's element storage and holds a copy of that `[Float]`:
/// while it does, the storage cannot be freed (so the address cannot be reused by other weights), and any write to
/// it through another copy triggers Swift's copy-on-write (so the storage the entry read cannot change). A key
/// therefore always names the contents the entry was made from.
///
/// Constants made afresh per call (an int8 layer's dequantized weights) would only churn the cache: a storage is
/// cached the second time it is seen, and the cache holds at most `budget` bytes of reordered weights (least
/// recently used entries go first; `TWEEDIE_ONEDNN_CACHE_MB`, default 1024).
struct OneDNNWeightCache {
    private struct Key: Hashable {
        let address: UInt
        let count: Int
        let layout: ConvolutionShape   // batch and spatial size only matter through the layout chosen for them
    }
    private struct Entry {
        let pinned: [Float]
        let buffer: UnsafeMutableRawPointer
        let bytes: Int
        var lastUse: Int
    }
    private var entries: [Key: Entry] = [:]
    private var seen: Set<Key> = []
    private var bytes = 0
    private var clock = 0
    let budget: Int = {
        let mb = getenv("TWEEDIE_ONEDNN_CACHE_MB").flatMap { Int(String(cString: $0)) } ?? 1024
        return max(0, mb) << 20
    }()

    /// The reordered weights of `weights` for `primitive`, or nil when they are not (yet) cached; a nil the second
    /// time a storage is asked for makes an entry.
    mutating func lookup(_ weights: [Float], for primitive: OneDNNConvolution) -> UnsafeRawPointer? {
        let key = weights.withUnsafeBufferPointer {
            Key(address: UInt(bitPattern: $0.baseAddress), count: $0.count, layout: primitive.shape)
        }
        clock += 1
        if let entry = entries[key] {
            entries[key]!.lastUse = clock
            return UnsafeRawPointer(entry.buffer)
        }
        guard seen.contains(key), primitive.weightsBytes <= budget else {
            if seen.count >= 4096 { seen.removeAll(keepingCapacity: true) }
            seen.insert(key)
            return nil
        }
        seen.remove(key)
        evict(toFit: primitive.weightsBytes)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: primitive.weightsBytes, alignment: 64)
        weights.withUnsafeBufferPointer { primitive.prepareWeights($0.baseAddress!, into: buffer) }
        entries[key] = Entry(pinned: weights, buffer: buffer, bytes: primitive.weightsBytes, lastUse: clock)
        bytes += primitive.weightsBytes
        return UnsafeRawPointer(buffer)
    }

    /// Drops least recently used entries until `incoming` more bytes fit in the budget.
    private mutating func evict(toFit incoming: Int) {
        while bytes + incoming > budget, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            oldest.value.buffer.deallocate()
            bytes -= oldest.value.bytes
            entries[oldest.key] = nil
        }
    }

    /// Frees every entry.
    mutating func removeAll() {
        for entry in entries.values { entry.buffer.deallocate() }
        entries.removeAll()
        seen.removeAll()
        bytes = 0
    }
}
