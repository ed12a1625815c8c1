import Foundation
import TweedieCore

/// The fixed differentiable "renderer" of `tweedie sds --render texture`: a square texture seen through an affine
/// warp (a rotation by 20° and a zoom to 0.7 of the texture about its centre) with bilinear sampling, into the
/// model's image frame. Coordinates follow torch's grid_sample(align_corners=False): output pixel (x, y) sits at
/// normalised ((2x + 1)/W − 1, (2y + 1)/H − 1). At zoom 0.7 even the frame's corners (radius 0.7·√2 < 1) read inside
/// the texture, so no padding rule matters. The map is linear in the texture; `adjoint` is its exact transpose,
/// which is what carries ∂L/∂frame back to the texels.
public struct AffineTextureRender: Sendable {
    /// Rotation of the view, in degrees.
    public static let rotationDegrees = 20.0
    /// Share of the texture's half-width the frame's half-width covers.
    public static let zoom = 0.7

    /// Side of the square texture, in texels.
    public let textureSize: Int
    /// Height and width of the frame.
    public let frameHeight: Int, frameWidth: Int
    /// Four (texel index, weight) taps per frame pixel, pixel-major.
    private let index: [Int32]
    private let weight: [Float]

    /// The warp of a `textureSize`² texture into a `frameHeight` x `frameWidth` frame.
    public init(textureSize s: Int, frameHeight h: Int, frameWidth w: Int) {
        textureSize = s
        frameHeight = h
        frameWidth = w
        var index = [Int32](repeating: 0, count: 4 * h * w), weight = [Float](repeating: 0, count: 4 * h * w)
        let angle = Self.rotationDegrees * Double.pi / 180, z = Self.zoom
        for y in 0..<h {
            for x in 0..<w {
                let xn = Double(2 * x + 1) / Double(w) - 1, yn = Double(2 * y + 1) / Double(h) - 1
                let un = z * (cos(angle) * xn - sin(angle) * yn), vn = z * (sin(angle) * xn + cos(angle) * yn)
                // Normalised -> texel coordinates (align_corners = False).
                let u = ((un + 1) * Double(s) - 1) / 2, v = ((vn + 1) * Double(s) - 1) / 2
                let u0 = Int(floor(u)), v0 = Int(floor(v))
                let fu = u - Double(u0), fv = v - Double(v0)
                let corners = [(u0, v0, (1 - fu) * (1 - fv)), (u0 + 1, v0, fu * (1 - fv)),
                               (u0, v0 + 1, (1 - fu) * fv), (u0 + 1, v0 + 1, fu * fv)]
                for (k, (cu, cv, wk)) in corners.enumerated() {
                    let slot = 4 * (y * w + x) + k
                    // Zero padding outside (unused at this zoom, kept so any size stays well defined).
                    guard (0..<s).contains(cu), (0..<s).contains(cv) else { continue }
                    index[slot] = Int32(cv * s + cu)
                    weight[slot] = Float(wk)
                }
            }
        }
        self.index = index
        self.weight = weight
    }

    /// texture [N, C, S, S] -> frame [N, C, H, W].
    public func render(_ texture: Tensor) -> Tensor {
        precondition(texture.rank == 4 && texture.shape[2] == textureSize && texture.shape[3] == textureSize,
                     "AffineTextureRender: texture \(texture.shape), expected [N, C, \(textureSize), \(textureSize)]")
        let maps = texture.shape[0] * texture.shape[1], plane = frameHeight * frameWidth, tex = textureSize * textureSize
        return Tensor(shape: [texture.shape[0], texture.shape[1], frameHeight, frameWidth]) { out in
            texture.withUnsafeBufferPointer { src in
                for m in 0..<maps {
                    for p in 0..<plane {
                        var acc: Float = 0
                        for k in 0..<4 { acc += weight[4 * p + k] * src[m * tex + Int(index[4 * p + k])] }
                        out[m * plane + p] = acc
                    }
                }
            }
        }
    }

    /// The transpose of `render`: frame-shaped [N, C, H, W] -> texture-shaped [N, C, S, S] (scatter-add).
    public func adjoint(_ frame: Tensor) -> Tensor {
        precondition(frame.rank == 4 && frame.shape[2] == frameHeight && frame.shape[3] == frameWidth,
                     "AffineTextureRender: frame \(frame.shape), expected [N, C, \(frameHeight), \(frameWidth)]")
        let maps = frame.shape[0] * frame.shape[1], plane = frameHeight * frameWidth, tex = textureSize * textureSize
        var out = Tensor(shape: [frame.shape[0], frame.shape[1], textureSize, textureSize])
        out.withUnsafeMutableBufferPointer { dst in
            frame.withUnsafeBufferPointer { g in
                for m in 0..<maps {
                    for p in 0..<plane {
                        for k in 0..<4 { dst[m * tex + Int(index[4 * p + k])] += weight[4 * p + k] * g[m * plane + p] }
                    }
                }
            }
        }
        return out
    }

    /// `render` on `texture`'s tape, its pullback `adjoint`.
    public func callAsFunction(_ texture: Variable) -> Variable {
        let tape = texture.tape, id = texture.id, me = self
        return tape.record(render(texture.value), inputs: [texture]) { g, t in t.accumulate(id, me.adjoint(g)) }
    }
}
