// The trainer draws its sample grids through the pipeline's samplers; the two modules meet only here, so training
// does not depend on the samplers and generation does not depend on the trainer.

extension SampleGrid: SampleGridRenderer {
    public func validate(_ settings: SampleGridSettings) throws { try validate(sampler: settings.sampler) }

    public func render(model: DiffusionModel, scheduler: SchedulerConfig, classes: Int?,
                       settings s: SampleGridSettings, decode: ((Tensor) throws -> Tensor)?) throws -> PNGImage {
        try render(model: model, scheduler: scheduler, classes: classes, sampler: s.sampler, steps: s.steps,
                   guidance: s.guidance, perClass: s.perClass, seed: s.seed, decode: decode)
    }
}
