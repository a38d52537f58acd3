// sgnicctl's rule file (cli/rule_file): the text as read, held in a sealed
// memfd that no one can change, from a regular file, an empty one or a pipe.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/rule_file.hpp"

namespace {

using sgnic::cli::RuleFile;

std::string temp_file(const std::string& text) {
    std::string path = ::testing::TempDir() + "sgnic-rule-file-XXXXXX";
    const int fd = ::mkstemp(path.data());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
}

// What sgnicd reads: the memfd from its start.
std::string read_fd(int fd) {
    std::string out(1 << 16, '\0');
    std::string all;
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(fd, out.data(), out.size(), at);
        if (n <= 0) {
            break;
        }
        all.append(out.data(), static_cast<std::size_t>(n));
        at += n;
    }
    return all;
}

void expect_sealed(int fd) {
    const int seals = ::fcntl(fd, F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    EXPECT_LT(::pwrite(fd, "x", 1, 0), 0);
    EXPECT_LT(::ftruncate(fd, 0), 0);
}

TEST(CliRuleFile, ARegularFileIsHeldAsReadInASealedMemfd) {
    std::string text;
    for (int i = 0; i < 20000; ++i) {  // several sendfile pages, not a multiple of one
        text += "matcher 1 ipv4-dst 10.0." + std::to_string(i % 256) + ".1 action drop\n";
    }
    const std::string path = temp_file(text);
    auto opened = RuleFile::open(path);
    ASSERT_TRUE(std::holds_alternative<RuleFile>(opened)) << std::get<std::string>(opened);
    const RuleFile file = std::get<RuleFile>(std::move(opened));
    EXPECT_EQ(file.text(), text);
    ASSERT_GE(file.fd(), 0);
    EXPECT_EQ(read_fd(file.fd()), text);
    expect_sealed(file.fd());
    // The copy is the caller's: the file changed afterwards changes nothing.
    std::ofstream(path, std::ios::trunc) << "changed\n";
    EXPECT_EQ(file.text(), text);
    ::unlink(path.c_str());
}

TEST(CliRuleFile, ALargeFileIsFollowedInWholeLinesAsItIsCopied) {
    // Over two copy blocks (4 MiB), the last line without its newline.
    std::string text;
    for (int i = 0; text.size() < std::size_t{9} << 20; ++i) {
        text += "matcher 1 ipv4-dst 10.0." + std::to_string(i % 256) + ".1 action drop\n";
    }
    text += "matcher 2 action drop";
    const std::string path = temp_file(text);
    std::vector<std::string> pieces;
    auto opened = RuleFile::open(path, [&](std::string_view piece) { pieces.emplace_back(piece); });
    ASSERT_TRUE(std::holds_alternative<RuleFile>(opened)) << std::get<std::string>(opened);
    const RuleFile file = std::get<RuleFile>(std::move(opened));
    EXPECT_EQ(file.text(), text);
    EXPECT_EQ(read_fd(file.fd()), text);
    expect_sealed(file.fd());
    ASSERT_FALSE(pieces.empty());
    std::string joined;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        EXPECT_FALSE(pieces[i].empty());
        if (i + 1 < pieces.size()) {
            EXPECT_EQ(pieces[i].back(), '\n') << "piece " << i << " of " << pieces.size();
        }
        joined += pieces[i];
    }
    EXPECT_EQ(joined, text);
    ::unlink(path.c_str());
}

TEST(CliRuleFile, ASmallFileIsNotFollowed) {
    const std::string path = temp_file("matcher 1 action drop\n");
    bool followed = false;
    auto opened = RuleFile::open(path, [&](std::string_view /*piece*/) { followed = true; });
    ASSERT_TRUE(std::holds_alternative<RuleFile>(opened));
    EXPECT_EQ(std::get<RuleFile>(opened).text(), "matcher 1 action drop\n");
    EXPECT_FALSE(followed);
    ::unlink(path.c_str());
}

TEST(CliRuleFile, AnEmptyFileIsAnEmptyText) {
    const std::string path = temp_file("");
    auto opened = RuleFile::open(path);
    ASSERT_TRUE(std::holds_alternative<RuleFile>(opened));
    const RuleFile& file = std::get<RuleFile>(opened);
    EXPECT_TRUE(file.text().empty());
    ASSERT_GE(file.fd(), 0);
    EXPECT_EQ(read_fd(file.fd()), "");
    ::unlink(path.c_str());
}

TEST(CliRuleFile, APipeIsReadToItsEnd) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    const std::string text(300000, 'r');  // more than a pipe holds at once
    std::thread writer([&] {
        for (std::size_t done = 0; done < text.size();) {
            const ssize_t n = ::write(p[1], text.data() + done, text.size() - done);
            ASSERT_GT(n, 0);
            done += static_cast<std::size_t>(n);
        }
        ::close(p[1]);
    });
    const std::string path = "/proc/self/fd/" + std::to_string(p[0]);
    auto opened = RuleFile::open(path);
    writer.join();
    ::close(p[0]);
    ASSERT_TRUE(std::holds_alternative<RuleFile>(opened)) << std::get<std::string>(opened);
    const RuleFile& file = std::get<RuleFile>(opened);
    EXPECT_EQ(file.text(), text);
    EXPECT_EQ(read_fd(file.fd()), text);
    expect_sealed(file.fd());
}

TEST(CliRuleFile, AMissingFileIsAnErrorThatNamesIt) {
    auto opened = RuleFile::open("/nonexistent/rules.txt");
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    EXPECT_NE(std::get<std::string>(opened).find("cannot read '/nonexistent/rules.txt'"),
              std::string::npos);
    EXPECT_NE(std::get<std::string>(opened).find("No such file"), std::string::npos);
}

TEST(CliRuleFile, ADirectoryIsAnErrorThatNamesIt) {
    auto opened = RuleFile::open(::testing::TempDir());
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    EXPECT_NE(std::get<std::string>(opened).find("cannot read"), std::string::npos);
}

TEST(CliRuleFile, ASealedMemfdHoldsTheText) {
    const auto fd = sgnic::cli::sealed_memfd("a\nb\n");
    ASSERT_TRUE(fd);
    EXPECT_EQ(read_fd(fd.get()), "a\nb\n");
    expect_sealed(fd.get());
}

}  // namespace
