// A sampler needs noise sources and schedules with every step, so `import TweedieSamplers` brings them in too.
@_exported import TweedieNoise
