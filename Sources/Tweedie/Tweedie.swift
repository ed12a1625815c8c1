// The umbrella module: `import Tweedie` brings in every library module of the engine.
@_exported import TweedieCore
@_exported import TweedieNoise
@_exported import TweedieModels
@_exported import TweedieImaging
@_exported import TweedieData
@_exported import TweedieOperators
@_exported import TweedieSamplers
@_exported import TweedieTraining
@_exported import TweedieTuning
@_exported import TweediePipeline
