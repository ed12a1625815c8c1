import Foundation
import TweedieCore
import TweedieSamplers

/// The stand-in network shared with scripts/make_sampler_fixtures.py: eps(x, t) = tanh(0.5 x + 0.001 t cos x),
/// elementwise, smooth, nonlinear and timestep dependent.
let analyticNetwork: VPDenoiser.Network = { x, timesteps, _ in
    let per = x.count / x.shape[0]
    var out = x
    out.withUnsafeMutableBufferPointer { p in
        for i in 0..<p.count {
            let v = p[i], t = timesteps[i / per]
            p[i] = tanh(0.5 * v + 0.001 * t * cos(v))
        }
    }
    return out
}
