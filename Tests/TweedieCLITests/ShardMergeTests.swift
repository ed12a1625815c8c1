import Foundation
import XCTest
import Tweedie

/// Deterministic shards and `tweedie merge` (issue 18): shards of a job give the one-process images bit for bit;
/// merge catches a deleted, a duplicated and a re-seeded shard and a changed file, each in one line with exit 2;
/// a re-run shard skips the images that verify and makes a corrupted one again.
final class ShardMergeTests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")
    private let images = 6, shards = 3

    /// The generate flags of shard `i` of the test job (images 2i, 2i+1 of 6), `seed` 5 unless changed.
    private func shardArgs(_ i: Int, seed: Int = 5, manifest: String? = nil) -> [String] {
        let per = images / shards
        return ["generate", "-m", model, "--steps", "3", "--seed", "\(seed)", "--threads", "1", "--quiet",
                "--start-index", "\(i * per)", "-b", "\(per)", "--job-size", "\(images)", "-o", "img/img_%03d.png",
                "--manifest", manifest ?? "manifests/shard-\(i).json"]
    }

    /// A folder with the whole job made in shards (img/, manifests/).
    private func shardedJob() throws -> URL {
        let dir = try GenerateTesting.tempDir(self)
        for sub in ["img", "manifests"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for i in 0..<shards {
            let r = try GenerateCLI.run(shardArgs(i), in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        return dir
    }

    private func merge(in dir: URL, _ extra: [String] = []) throws -> GenerateCLI.Result {
        try GenerateCLI.run(["merge", "manifests", "--out", "merged.json"] + extra, in: dir)
    }

    /// Exit 2, one stderr line holding every `mentions`, and no merged file.
    private func assertRefused(_ r: GenerateCLI.Result, _ mentions: [String], in dir: URL,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("merged.json").path),
                       file: file, line: line)
    }

    func testShardsMergeIntoTheOneProcessRunBitForBit() throws {
        let dir = try shardedJob()
        let r = try merge(in: dir, ["--summary"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("6 images from 3 shards"), r.stdout)
        let merged = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("merged.json"))) as? [String: Any])
        let entries = try XCTUnwrap(merged["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.map { $0["index"] as? Int }, (0..<images).map { $0 })
        XCTAssertEqual(entries.map { $0["seed"] as? Int }, (0..<images).map { 5 + $0 })
        let summary = try XCTUnwrap(merged["summary"] as? [String: Any])
        XCTAssertEqual((summary["class_histogram"] as? [String: Int])?.values.reduce(0, +), images)
        XCTAssertNotNil(summary["mean_saturation"])

        try FileManager.default.createDirectory(at: dir.appendingPathComponent("one"), withIntermediateDirectories: true)
        let one = try GenerateCLI.run(["generate", "-m", model, "--steps", "3", "--seed", "5", "--threads", "1",
                                       "--quiet", "-b", "\(images)", "-o", "one/img_%03d.png"], in: dir)
        XCTAssertEqual(one.status, 0, one.stderr)
        for entry in entries {
            let files = try XCTUnwrap(entry["files"] as? [[String: Any]])
            let path = try XCTUnwrap(files.first?["path"] as? String)
            let index = try XCTUnwrap(entry["index"] as? Int)
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(path)),
                           try Data(contentsOf: dir.appendingPathComponent(String(format: "one/img_%03d.png", index))),
                           "image \(index)")
        }
    }

    func testMergeCatchesADeletedShard() throws {
        let dir = try shardedJob()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("manifests/shard-1.json"))
        assertRefused(try merge(in: dir), ["indices 2-3 of 0..<6 are missing"], in: dir)
        // The last shard gone: only the recorded job size tells.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("manifests/shard-2.json"))
        assertRefused(try merge(in: dir), ["indices 2-5 of 0..<6 are missing"], in: dir)
    }

    func testMergeCatchesADuplicatedShard() throws {
        let dir = try shardedJob()
        try FileManager.default.copyItem(at: dir.appendingPathComponent("manifests/shard-1.json"),
                                         to: dir.appendingPathComponent("manifests/shard-1-again.json"))
        assertRefused(try merge(in: dir), ["index 2 appears twice", "shard-1.json", "shard-1-again.json"], in: dir)
    }

    func testMergeCatchesAReseededShard() throws {
        let dir = try shardedJob()
        // Shard 1 made again with another seed, into its own manifest (the old one would refuse the new seed).
        try FileManager.default.removeItem(at: dir.appendingPathComponent("manifests/shard-1.json"))
        let r = try GenerateCLI.run(shardArgs(1, seed: 9), in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        assertRefused(try merge(in: dir), ["shard-1.json was made with seed 9", "with 5"], in: dir)
    }

    func testMergeCatchesAChangedImage() throws {
        let dir = try shardedJob()
        let handle = try FileHandle(forWritingTo: dir.appendingPathComponent("img/img_004.png"))
        handle.seekToEndOfFile()
        handle.write(Data([0]))
        handle.closeFile()
        assertRefused(try merge(in: dir), ["index 4", "img_004.png has sha256", "the manifest records"], in: dir)
    }

    func testARerunShardSkipsVerifiedImagesAndRedoesACorruptedOne() throws {
        let dir = try shardedJob()
        let manifest = dir.appendingPathComponent("manifests/shard-2.json")
        let good = dir.appendingPathComponent("img/img_004.png"), bad = dir.appendingPathComponent("img/img_005.png")
        let (goodBytes, badBytes) = (try Data(contentsOf: good), try Data(contentsOf: bad))
        let goodDate = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: good.path)[.modificationDate] as? Date)
        try Data("not a png".utf8).write(to: bad)
        Thread.sleep(forTimeInterval: 0.05)
        var args = shardArgs(2)
        args.removeAll { $0 == "--quiet" }
        let r = try GenerateCLI.run(args, in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("index 5"), r.stderr)
        XCTAssertTrue(r.stderr.contains("making it again"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1 of 2 images already made and verified"), r.stderr)
        XCTAssertTrue(r.stdout.contains("img/img_005.png  seed 10"), r.stdout)
        XCTAssertFalse(r.stdout.contains("img_004"), "the verified image was made again: \(r.stdout)")
        XCTAssertEqual(try Data(contentsOf: bad), badBytes, "the redone image is the original, bit for bit")
        XCTAssertEqual(try Data(contentsOf: good), goodBytes)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: good.path)[.modificationDate] as? Date, goodDate)
        let m = try ShardManifest.read(path: manifest.path)
        XCTAssertTrue(m.complete)
        XCTAssertEqual(m.entries.map(\.index), [4, 5])
        XCTAssertEqual(try merge(in: dir).status, 0)
    }

    func testAManifestOfAnotherRunIsRefused() throws {
        let dir = try shardedJob()
        let r = try GenerateCLI.run(shardArgs(1, seed: 9), in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--manifest manifests/shard-1.json: written by a run with seed 5, this run has seed 9"),
                      r.stderr)
    }

    func testReconstructShardsOfAFolderMerge() throws {
        let dir = try GenerateTesting.tempDir(self)
        let inputs = dir.appendingPathComponent("gt")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        for i in 0..<3 {
            let image = RandomEllipses.images(count: 1, height: 16, width: 16, seed: 1, startIndex: i)
            try PNGImage.images(from: image, range: .zeroToOne).images[0]
                .write(to: inputs.appendingPathComponent("gt\(i).png").path)
        }
        for s in 0..<2 {
            let r = try GenerateCLI.run(["reconstruct", "--inputs", "gt", "--shard", "\(s)/2", "--method", "tikhonov",
                                         "--tikhonov-iters", "5", "--resize", "-o", "out", "--quiet"], in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let r = try GenerateCLI.run(["merge", "out", "--out", "merged.json", "--summary", "--json"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"kind\":\"reconstruct\""), r.stdout)
        XCTAssertTrue(r.stdout.contains("mean_psnr"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/gt2_error.png").path))
    }
}

/// The arithmetic of shards: blocks of --shard I/N and runs of missing indices.
final class ShardPlanTests: XCTestCase {
    func testBlocksCoverEveryItemOnce() throws {
        for total in [0, 1, 7, 10] {
            for n in 1...5 {
                let blocks = try (0..<n).map { try ShardProgress.block("\($0)/\(n)", total: total).range }
                XCTAssertEqual(blocks.flatMap { Array($0) }, Array(0..<total), "total \(total), \(n) shards")
                XCTAssertLessThanOrEqual(Set(blocks.map(\.count)).count, 2)
            }
        }
        for bad in ["4/4", "-1/2", "1", "a/b", "0/0"] {
            XCTAssertThrowsError(try ShardProgress.block(bad, total: 8), bad)
        }
    }

    func testRunsOfMissingIndices() {
        let runs = ShardProgress.runs(of: [0, 1, 2, 5, 6, 9], chunk: 2)
        XCTAssertEqual(runs.map(\.first), [0, 2, 5, 9])
        XCTAssertEqual(runs.map(\.count), [2, 1, 2, 1])
    }

    func testManifestPathsAreRelativeToTheManifest() {
        XCTAssertEqual(ShardManifest.relativePath(of: "/a/img/x.png", manifestAt: "/a/man/s.json"), "../img/x.png")
        XCTAssertEqual(ShardManifest.resolve("../img/x.png", manifestAt: "run/man/s.json"), "run/img/x.png")
        XCTAssertEqual(ShardManifest.resolve("x.png", manifestAt: "s.json"), "x.png")
    }
}
