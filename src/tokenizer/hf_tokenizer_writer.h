// HF tokenizer files for a model that carries its tokenizer elsewhere (a GGUF
// file's `tokenizer.*` metadata), so that a model directory maca writes from
// it (the export's gptq/ and fake_quant/) is complete on its own: `maca eval`,
// HF `tokenizers` and transformers' AutoTokenizer load it and encode text to
// the ids maca's GGUF tokenizer gives.
//
// tokenizer.json is not converted from the metadata a second time: it is
// maca's own Tokenizer (Tokenizer::from_gguf) written out component by
// component (Tokenizer::to_tokenizer_json), so the two cannot drift apart.
#pragma once

#include <map>
#include <string>

namespace maca::io {
class GgufFile;
}

namespace maca::tokenizer {

// File name -> file content.
using HfTokenizerFiles = std::map<std::string, std::string>;

// The HF tokenizer files of `gguf`:
//  - tokenizer.json: Tokenizer::from_gguf(gguf).to_tokenizer_json();
//  - tokenizer_config.json: tokenizer_class PreTrainedTokenizerFast (loads
//    tokenizer.json as it is); bos/eos/pad/unk tokens where the metadata names
//    them and they are special added tokens, else null (transformers would add
//    any other named token, or a tokenizer class's default one, as a new
//    special token and encode text differently);
//    add_bos_token and add_eos_token as encode() adds them; chat_template
//    (`tokenizer.chat_template`); model_max_length (`<arch>.context_length`);
//    clean_up_tokenization_spaces false (maca's decode does no clean-up);
//  - generation_config.json: bos/eos/pad token ids (eos also lists the
//    end-of-turn/-message ids, `tokenizer.ggml.eot_token_id`/`eom_token_id`),
//    only when the metadata has one of them.
// Throws FileError naming the file and key when the tokenizer cannot be built.
HfTokenizerFiles hf_tokenizer_files(const io::GgufFile& gguf);

}  // namespace maca::tokenizer
