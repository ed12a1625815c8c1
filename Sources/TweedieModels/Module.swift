// TweedieModels: diffusers-format model folders (config.json + safetensors) built into Swift networks:
// UNet2DModel, DiTTransformer2DModel (also from the older Transformer2DModel DiT config) and AutoencoderKL.
// Users of this module see TweedieCore's Tensor and TweedieError without a second import.
@_exported import TweedieCore
