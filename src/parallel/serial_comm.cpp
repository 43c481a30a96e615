#include "parallel/serial_comm.h"

#include <cstdlib>
#include <new>

namespace maca::parallel {
namespace {

// One process is its node's only rank: plain memory.
class PrivateMemory final : public NodeShared {
 public:
  explicit PrivateMemory(size_t bytes) {
    data_ = ::operator new(bytes);
    size_ = bytes;
  }
  ~PrivateMemory() override { ::operator delete(data_); }
  void publish(std::vector<uint8_t>&) override {}
};

class SerialComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "serial"; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  void allreduce_sum(std::span<int64_t>) override {}
  void reduce_sum(std::span<int64_t>, int) override {}
  int64_t allreduce_max(int64_t value) override { return value; }
  std::vector<std::vector<uint8_t>> allgather(std::span<const uint8_t> mine) override {
    return {std::vector<uint8_t>(mine.begin(), mine.end())};
  }
  void broadcast(std::vector<uint8_t>&, int) override {}
  void barrier() override {}
  std::shared_ptr<NodeShared> node_shared(size_t bytes) override { return std::make_shared<PrivateMemory>(bytes); }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

std::unique_ptr<Comm> make_serial_comm() { return std::make_unique<SerialComm>(); }

}  // namespace maca::parallel
