#include "model/distributed/launch.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <stdexcept>

namespace sg {

namespace {

int read_int(const EnvironmentLookup& lookup, const char* name, int low, int high) {
  const char* text = lookup(name);
  if (!text || !*text) throw std::invalid_argument(std::string(name) + " is not set");
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0') throw std::invalid_argument(std::string(name) + "=" + text + " is not a whole number");
  if (value < low || value > high)
    throw std::invalid_argument(std::string(name) + "=" + text + " is outside " + std::to_string(low) + ".." +
                                std::to_string(high));
  return static_cast<int>(value);
}

bool is_set(const EnvironmentLookup& lookup, const char* name) {
  const char* text = lookup(name);
  return text && *text;
}

}  // namespace

LaunchEnvironment read_launch_environment(const EnvironmentLookup& lookup) {
  LaunchEnvironment e;
  const char *rank_name = "RANK", *world_name = "WORLD_SIZE", *local_name = "LOCAL_RANK",
             *local_world_name = "LOCAL_WORLD_SIZE";
  if (is_set(lookup, "RANK") || is_set(lookup, "WORLD_SIZE")) {
    e.launcher = "torchrun";
  } else if (is_set(lookup, "SLURM_PROCID") && is_set(lookup, "SLURM_NTASKS")) {
    e.launcher = "slurm";
    rank_name = "SLURM_PROCID";
    world_name = "SLURM_NTASKS";
    local_name = "SLURM_LOCALID";
    local_world_name = "SLURM_NTASKS_PER_NODE";
  } else {
    return e;
  }
  e.world_size = read_int(lookup, world_name, 1, 1 << 20);
  e.rank = read_int(lookup, rank_name, 0, e.world_size - 1);
  e.local_rank = is_set(lookup, local_name) ? read_int(lookup, local_name, 0, e.world_size - 1) : 0;
  // SLURM writes e.g. "2(x3)" for uneven nodes: then unknown.
  const char* local_world = lookup(local_world_name);
  char* end = nullptr;
  const long count = local_world ? std::strtol(local_world, &end, 10) : 0;
  if (local_world && *end == '\0' && count >= 1 && count <= e.world_size) e.local_world_size = static_cast<int>(count);
  if (e.world_size == 1) return e;
  if (e.launcher == "torchrun") {
    const char* agent = lookup("TORCHELASTIC_USE_AGENT_STORE");
    e.agent_store = agent && (std::string(agent) == "True" || std::string(agent) == "true" || std::string(agent) == "1");
    if (is_set(lookup, "TORCHELASTIC_RESTART_COUNT"))
      e.restart_count = read_int(lookup, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
  }
  if (!is_set(lookup, "MASTER_ADDR"))
    throw std::invalid_argument(std::string("MASTER_ADDR is not set: a ") + e.launcher +
                                " launch of " + std::to_string(e.world_size) +
                                " processes needs the rendezvous host (rank 0's address)");
  e.master_addr = lookup("MASTER_ADDR");
  e.master_port = read_int(lookup, "MASTER_PORT", 1, 65535);
  return e;
}

LaunchEnvironment read_launch_environment() {
  return read_launch_environment([](const char* name) { return std::getenv(name); });
}

int cores_per_process(int processes) {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, processes));
}

std::vector<std::pair<std::string, std::string>> local_launch_variables(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)},         {"LOCAL_RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world)},  {"LOCAL_WORLD_SIZE", std::to_string(world)},
          {"MASTER_ADDR", "127.0.0.1"},           {"MASTER_PORT", std::to_string(port)}};
}

pid_t start_local_rank(const std::string& program, const std::vector<std::string>& args, int rank, int world, int port,
                       const std::function<void()>& in_child) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  std::vector<std::string> argv{program};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_args;
  for (auto& a : argv) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  for (const auto& [name, value] : local_launch_variables(rank, world, port)) ::setenv(name.c_str(), value.c_str(), 1);
  if (in_child) in_child();
  ::execv(c_args[0], c_args.data());
  ::_exit(127);
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool found = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) ::close(fd);
  if (!found) throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

}  // namespace sg
