#pragma once
// Where this process stands in a torchrun or SLURM launch: read from the
// environment variables those launchers set, with nothing of LibTorch.
#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sg {

struct LaunchEnvironment {
  int rank = 0, world_size = 1, local_rank = 0;
  int local_world_size = 1;  // processes on this machine (LOCAL_WORLD_SIZE, SLURM_NTASKS_PER_NODE; 1 when unknown)
  std::string master_addr;  // the rendezvous store's host (rank 0)
  int master_port = 0;
  std::string launcher;     // "torchrun" (RANK, WORLD_SIZE, ...), "slurm" (SLURM_PROCID, ...) or "" (one process)
  // PyTorch 2's torchrun may serve the store itself (its agent's, under
  // /worker/attempt_N): TORCHELASTIC_USE_AGENT_STORE=True; then every rank
  // is a client. Otherwise rank 0 serves it, as torch.distributed's env://.
  bool agent_store = false;
  int restart_count = 0;    // TORCHELASTIC_RESTART_COUNT
  bool distributed() const { return world_size > 1; }
};

using EnvironmentLookup = std::function<const char*(const char*)>;

// torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT first;
// else srun's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID with MASTER_ADDR and
// MASTER_PORT given by the job script; else one process. A launch with a
// world of more than one process must name the store (MASTER_ADDR,
// MASTER_PORT). Throws std::invalid_argument naming the variable that is
// missing, not a number or out of range.
LaunchEnvironment read_launch_environment(const EnvironmentLookup& lookup);
LaunchEnvironment read_launch_environment();  // from this process's environment

// The threads each of `processes` processes on this machine gets when they
// share its cores (at least 1).
int cores_per_process(int processes);

// The variables torchrun sets for `rank` of a `world` started on this
// machine alone, its store at 127.0.0.1:`port` (bench_train --world, the
// tests).
std::vector<std::pair<std::string, std::string>> local_launch_variables(int rank, int world, int port);

// Starts `program` with `args` as `rank` of such a local world (its
// variables set in the child); `in_child` runs in the child just before the
// exec (more variables, redirections). Returns the child's pid; a child whose
// exec fails exits with 127.
pid_t start_local_rank(const std::string& program, const std::vector<std::string>& args, int rank, int world, int port,
                       const std::function<void()>& in_child = {});

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick),
// for a local world's store (bench_train --world, the tests). Throws
// std::runtime_error when there is none.
int free_loopback_port();

}  // namespace sg
