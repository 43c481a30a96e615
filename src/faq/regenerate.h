// `maca faq`: FAQ calibration regeneration end to end (algorithms.md §5).
//
//  1. Sources: the ordinary calibration set (calib.*: data, n_samples,
//     seq_len, seed; the fixed sampler), tokenized by the target (model.path).
//  2. Teacher (faq.teacher): refused unless it has the target's architecture
//     and tokenizer (faq.force accepts it; its text is then re-tokenized).
//  3. Prompts: the first faq.source_tokens of each source in faq.prompt, put
//     through gen.template; K = faq.candidates requests per source, seeded by
//     (gen.seed, source · K + candidate).
//  4. Generation in units of gen.batch requests, unit u on rank u mod P;
//     each finished unit is written to <run.dir>/units/ durably, so a killed
//     run resumes with the units it lacks (any rank count: the units, and so
//     the outputs, do not depend on it). <run.dir>/fingerprint refuses a
//     changed job.
//  5. Rank 0: filters, expert scores, z-normalized group competition, winners
//     in the target's format, re-normalization, the calibration-set file
//     (calib/calib_file.h) with the provenance.
#pragma once

#include "config/config.h"

namespace maca::faq {

// Runs the job `cfg` describes; returns the process exit code (0). Errors are
// maca::Error naming the key, file or model at fault.
int run_regenerate(const config::Config& cfg);

}  // namespace maca::faq
