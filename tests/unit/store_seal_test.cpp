// The seal file: what a clean stop leaves for the next start.  It reads back
// as written; anything else (torn, damaged, another format) is refused with
// a reason and never mistaken for a seal.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/seal.hpp"

namespace sgnic::store {
namespace {

model::Seal example() {
    model::Seal s{.ports = {{.name = "sgnic0", .ifindex = 5, .steer_gen = 0x8000000000000001ULL},
                            {.name = "sgnic1", .ifindex = 6, .steer_gen = 42}},
                  .next_rule = 1000001,
                  .rules = {}};
    for (std::uint64_t k = 1; k <= 1000; ++k) {
        s.rules.push_back({.id = k * 7, .rule = 0xffffffffULL + k});
    }
    return s;
}

class SealFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sgnic-seal-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST(Seal, encoded_bytes_decode_to_the_same_seal) {
    const model::Seal s = example();
    auto back = decode_seal(encode_seal(s));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, s);
    const model::Seal empty{};
    auto none = decode_seal(encode_seal(empty));
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_EQ(*none, empty);
}

TEST(Seal, every_cut_and_every_flipped_byte_is_refused) {
    model::Seal s = example();
    s.rules.resize(3);
    const std::vector<std::uint8_t> bytes = encode_seal(s);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const std::vector<std::uint8_t> cut(bytes.begin(),
                                            bytes.begin() + static_cast<std::ptrdiff_t>(n));
        auto r = decode_seal(cut);
        ASSERT_FALSE(r) << "cut to " << n << " bytes";
        EXPECT_EQ(r.error().code(), Errc::store);
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::vector<std::uint8_t> bad = bytes;
        bad[i] ^= 0x10;
        auto r = decode_seal(bad);
        ASSERT_FALSE(r) << "byte " << i << " flipped";
        EXPECT_NE(r.error().message().find("the seal is unreadable"), std::string::npos);
    }
}

TEST_F(SealFile, written_read_and_removed) {
    auto none = read_seal(dir_);
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_FALSE(*none) << "no seal yet";
    const model::Seal s = example();
    ASSERT_TRUE(write_seal(dir_, s));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "seal.new")) << "the temporary is renamed";
    auto back = read_seal(dir_);
    ASSERT_TRUE(back && *back);
    EXPECT_EQ(**back, s);
    ASSERT_TRUE(remove_seal(dir_));
    EXPECT_FALSE(std::filesystem::exists(dir_ / "seal"));
    EXPECT_TRUE(remove_seal(dir_)) << "removing what is not there is not an error";
}

TEST_F(SealFile, a_damaged_file_is_an_error_not_a_seal) {
    {
        std::ofstream f(dir_ / "seal", std::ios::binary);
        f << "sgnSEAL1 but not much else";
    }
    auto r = read_seal(dir_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::store);
    EXPECT_NE(r.error().message().find("checksum"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace sgnic::store
