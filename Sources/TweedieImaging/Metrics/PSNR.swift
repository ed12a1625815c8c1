#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TweedieCore

/// Image quality metrics over float tensors; all accumulate in Double.
public enum ImageMetrics {
    /// Mean squared error between two tensors of the same shape.
    public static func mse(_ a: Tensor, _ b: Tensor) throws -> Double {
        try checkSameShape(a, b, metric: "MSE")
        guard a.count > 0 else { throw TweedieError.badInput("MSE: empty tensors") }
        var sum = 0.0
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in 0..<x.count {
                    let d = Double(x[i]) - Double(y[i])
                    sum += d * d
                }
            }
        }
        return sum / Double(a.count)
    }

    /// Peak signal-to-noise ratio in dB, 10 log10(dataRange^2 / MSE), as skimage's `peak_signal_noise_ratio`;
    /// +infinity for identical inputs. `dataRange` is max - min of the value range (2 for [-1, 1], 255 for bytes).
    public static func psnr(_ a: Tensor, _ b: Tensor, dataRange: Double) throws -> Double {
        guard dataRange > 0 else { throw TweedieError.badInput("PSNR: data range \(dataRange) must be positive") }
        let e = try mse(a, b)
        return e == 0 ? .infinity : 10 * log10(dataRange * dataRange / e)
    }

    static func checkSameShape(_ a: Tensor, _ b: Tensor, metric: String) throws {
        guard a.shape == b.shape else {
            throw TweedieError.badInput("\(metric): shapes \(a.shape) and \(b.shape) differ")
        }
    }
}
