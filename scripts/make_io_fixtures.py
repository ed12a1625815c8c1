#!/usr/bin/env python3
"""Writes Tests/TweedieModelsTests/Fixtures/io/mixed.safetensors with the reference safetensors package.

The file holds F16, BF16, F32, F64, I64 and I32 tensors whose values are all exactly representable in their dtype,
so the Swift tests can state the expected Float32/Int64 values directly (SafeTensorsTests.testReferenceFixture).
Run from the repository root: python3 scripts/make_io_fixtures.py
"""
import os

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join("Tests", "TweedieModelsTests", "Fixtures", "io", "mixed.safetensors")

# F16 edge cases: zeros, ordinary values, largest finite, smallest normal, smallest and largest subnormal, inf, NaN.
f16 = torch.tensor([0.0, -0.0, 1.0, -2.0, 0.333251953125, 65504.0, 2.0 ** -14, 2.0 ** -24, 1023 * 2.0 ** -24,
                    float("inf"), float("-inf"), float("nan")], dtype=torch.float16).reshape(3, 4)
# BF16: ordinary values, smallest subnormal, largest finite, inf, NaN.
bf16 = torch.tensor([1.0, -3.140625, 0.333984375, 2.0 ** -133, 3.3895313892515355e38, float("inf"),
                     float("-inf"), float("nan")], dtype=torch.bfloat16).reshape(2, 4)
f32 = (torch.arange(24, dtype=torch.float32) * 0.25 - 3.0).reshape(2, 3, 4)
f64 = torch.tensor([0.1, -1.5, 1e300], dtype=torch.float64)  # 0.1 rounds to Float(0.1); 1e300 overflows to inf
i64 = torch.tensor([0, -1, 2 ** 62 + 1, -(2 ** 63), 2 ** 63 - 1, 7], dtype=torch.int64).reshape(3, 2)
i32 = torch.tensor([[-(2 ** 31), 2 ** 31 - 1, 5]], dtype=torch.int32)
scalar = torch.tensor(1.5, dtype=torch.float32)
empty = torch.zeros(0, 3, dtype=torch.float32)

tensors = {"half": f16, "brain": bf16, "single": f32, "double": f64, "long": i64, "int": i32,
           "scalar": scalar, "empty": empty}
save_file(tensors, OUT, metadata={"format": "pt", "note": "io fixture"})

# Print the raw bit patterns so they can be compared with the constants quoted in the tests.
print("f16 bits:", [hex(x) for x in f16.flatten().view(torch.int16).numpy().astype(np.uint16)])
print("bf16 bits:", [hex(x) for x in bf16.flatten().view(torch.int16).numpy().astype(np.uint16)])
print("wrote", OUT, os.path.getsize(OUT), "bytes")
