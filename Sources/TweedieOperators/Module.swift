// Operators are written over TweedieCore's types (Tensor, SplitMix64); importing TweedieOperators brings them along,
// as importing TweedieModels does.
@_exported import TweedieCore
