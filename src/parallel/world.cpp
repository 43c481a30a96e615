#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"
#include "parallel/comm.h"
#include "parallel/mpi_comm.h"
#include "parallel/serial_comm.h"

#ifdef MACA_HAVE_MPI
#include <mpi.h>
#endif

namespace maca::parallel {
namespace {

std::unique_ptr<Comm>& world_ptr() {
  static std::unique_ptr<Comm> comm;
  return comm;
}

bool mpi_started = false;

}  // namespace

bool launched_by_mpi() {
  // OpenMPI's mpirun, PMIx (OpenMPI ≥ 4, srun --mpi=pmix) and PMI-1/2 (srun --mpi=pmi2, MPICH).
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

void init_world(int* argc, char*** argv) {
  auto& comm = world_ptr();
  if (comm) return;
#ifdef MACA_HAVE_MPI
  if (launched_by_mpi()) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    mpi_started = true;
    comm = make_mpi_comm();
    return;
  }
#else
  (void)argc;
  (void)argv;
  if (launched_by_mpi() && std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr &&
      std::string(std::getenv("OMPI_COMM_WORLD_SIZE")) != "1")
    MACA_THROW(Error, "started by an MPI launcher with several ranks, but this maca was built without MPI; "
                      "rebuild with -DMACA_WITH_MPI=ON");
#endif
  // srun without an MPI plugin starts N independent copies that would all
  // act as rank 0 on the same run directory.
  if (const char* tasks = std::getenv("SLURM_STEP_NUM_TASKS"); tasks != nullptr && std::atoi(tasks) > 1)
    MACA_THROW(Error, "started by srun as one of {} tasks, but without MPI (no PMI/PMIx environment), so every task "
               "would act as rank 0; launch with `srun --mpi=pmix` (or pmi2), or with one task", tasks);
  comm = make_serial_comm();
}

Comm& world() {
  auto& comm = world_ptr();
  if (!comm) comm = make_serial_comm();  // library use without init_world (tests): one rank
  return *comm;
}

void finalize_world() {
#ifdef MACA_HAVE_MPI
  if (mpi_started) {
    MPI_Finalize();
    mpi_started = false;
  }
#endif
  world_ptr().reset();
}

}  // namespace maca::parallel
