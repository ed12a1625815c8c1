import TweedieCore

// Decoding of stored tensor bytes (little-endian, possibly unaligned inside the mapping) into host values.
// Every source read is `loadUnaligned` because safetensors offsets carry no alignment promise.

#if _endian(big)
#error("safetensors stores little-endian data; big-endian hosts would need byte swapping")
#endif

/// IEEE binary16 bits to Float32, exactly: subnormals become normal floats, inf stays inf, NaN payloads are kept.
@inline(__always)
func float16BitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x03FF)
    let bits: UInt32
    if exponent == 0x1F {
        bits = 0x7F80_0000 | (mantissa << 13)                      // inf / NaN
    } else if exponent != 0 {
        bits = ((exponent + (127 - 15)) << 23) | (mantissa << 13)  // normal: rebias exponent
    } else {
        // Zero or subnormal: value = mantissa * 2^-24, exact in Float32.
        return Float(bitPattern: (Float(mantissa) * 0x1p-24).bitPattern | sign)
    }
    return Float(bitPattern: sign | bits)
}

/// bfloat16 bits to Float32 (bfloat16 is the top half of a Float32, so this is exact).
@inline(__always)
func bfloat16BitsToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

/// Splits `count` elements into chunks worth a thread each; small tensors decode inline.
@inline(__always)
private func chunked(_ count: Int, _ body: (Range<Int>) -> Void) {
    let chunk = 1 << 18
    if count <= chunk {
        body(0..<count)
        return
    }
    let chunks = (count + chunk - 1) / chunk
    parallelFor(chunks) { c in body((c * chunk)..<min(count, (c + 1) * chunk)) }
}

/// Decodes `count` elements of a float dtype from `src` into `dst` as Float32.
func decodeFloats(_ dtype: SafeTensorDType, from src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>,
                  count: Int) {
    switch dtype {
    case .f32:
        chunked(count) { r in
            (dst + r.lowerBound).withMemoryRebound(to: UInt8.self, capacity: r.count * 4) { d in
                d.update(from: (src + r.lowerBound * 4).assumingMemoryBound(to: UInt8.self), count: r.count * 4)
            }
        }
    case .f16:
        chunked(count) { r in
            for i in r { dst[i] = float16BitsToFloat(src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        }
    case .bf16:
        chunked(count) { r in
            for i in r { dst[i] = bfloat16BitsToFloat(src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        }
    case .f64:
        chunked(count) { r in
            for i in r { dst[i] = Float(src.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        }
    default:
        preconditionFailure("decodeFloats: \(dtype.rawValue) is not a float dtype")
    }
}

/// Decodes `count` elements of an integer or BOOL dtype from `src` into `dst` as Int64.
func decodeIntegers(_ dtype: SafeTensorDType, from src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Int64>,
                    count: Int) {
    switch dtype {
    case .i64:
        for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: i * 8, as: Int64.self) }
    case .i32:
        for i in 0..<count { dst[i] = Int64(src.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
    case .i16:
        for i in 0..<count { dst[i] = Int64(src.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)) }
    case .i8:
        for i in 0..<count { dst[i] = Int64(src.load(fromByteOffset: i, as: Int8.self)) }
    case .u8:
        for i in 0..<count { dst[i] = Int64(src.load(fromByteOffset: i, as: UInt8.self)) }
    case .bool:
        for i in 0..<count { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
    default:
        preconditionFailure("decodeIntegers: \(dtype.rawValue) is not an integer dtype")
    }
}
