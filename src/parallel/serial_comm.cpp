#include "parallel/serial_comm.h"

#include <cstdlib>

namespace maca::parallel {
namespace {

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
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

std::unique_ptr<Comm> make_serial_comm() { return std::make_unique<SerialComm>(); }

}  // namespace maca::parallel
