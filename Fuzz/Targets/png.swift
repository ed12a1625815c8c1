import Foundation
import Tweedie

/// The PNG reader with its text chunks and the `tweedie` recipe parser: decode, then what `tweedie info` prints and
/// what `generate --from` checks before sampling.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let (image, text) = try? PNGImage.decode(bytes, name: "fuzz.png") else { return 0 }
    precondition(image.pixels.count == image.width * image.height * image.channels)
    let path = FuzzScratch.write(data, size, suffix: ".png")
    _ = try? ImageMetadata.describe(pngAt: path)
    if let json = textValue(ImageMetadata.recipeKey, in: text), let recipe = try? ImageRecipe(json: json, source: "fuzz.png") {
        try? recipe.settings.validate()
        _ = ImageMetadata.parameters(recipe, label: "x")
        _ = try? recipe.json()
    }
    return 0
}
