#include "core/stop_request.h"

#include <csignal>
#include <initializer_list>

namespace maca {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int sig) {
  g_stop = 1;
  std::signal(sig, SIG_DFL);  // the next one acts as usual
}

}  // namespace

void install_stop_handlers() {
  for (int sig : {SIGUSR1, SIGTERM}) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, nullptr);
  }
}

bool stop_requested() { return g_stop != 0; }

}  // namespace maca
