// Checkpoints interchange with the reference trainer, checked against its
// real client, Debian's python3-torch: Python's plain torch.load reads ours
// (all nine blocks under the reference's names, PyTorch Adam state dicts);
// we read what Python's torch.save writes as the reference saves it
// (train_step-N.model, NNNNNN.model; zip and legacy formats), and a file we
// cannot use is one clear error, never an internal assertion.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <fstream>

#include "common/errors.hpp"
#include "model/core/adam_step.hpp"
#include "model/core/torch_file.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/evaluation/samples.hpp"
#include "model/stylegan/checkpoint.hpp"
#include "model/stylegan/sampling.hpp"
#include "model/stylegan2/checkpoint.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"
#include "test_lmdb.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using namespace stylegan;

namespace fs = std::filesystem;
using test::TempDir;

struct Python {
  int status = -1;
  std::string output;
};

// /usr/bin/python3 (Debian's, with python3-torch) on one of tests/python/.
Python run_python(const std::string& script, const std::vector<std::string>& args, const TempDir& dir) {
  std::string command = "/usr/bin/python3 " + test::source_path("tests/python/" + script);
  for (const auto& a : args) command += " '" + a + "'";
  const std::string log = dir / (script + ".log");
  command += " > '" + log + "' 2>&1";
  Python result;
  const int raw = std::system(command.c_str());
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.output = test::read_file(log);
  return result;
}

void write_tiny_lmdb(const std::string& path, int n = 32) { test::write_synthetic_lmdb(path, n, {8, 16}); }

TrainOptions tiny_run(const std::string& lmdb, const std::string& out) {
  TrainOptions o;
  o.lmdb = lmdb;
  o.out = out;
  o.schedule.phase = 16;  // 8x8 for 5 iterations of 8, then a fade into 16x16
  o.schedule.batch = 8;
  o.model.max_channels = 8;
  o.model.style_dim = 16;
  o.model.n_mlp = 2;
  o.mixing = true;
  o.sample_every = 0;
  o.checkpoint_every = 0;
  o.seed = 3;
  o.device = "cpu";
  return o;
}

// The reference's full model at this width: "SECTION KIND NAME SHAPE" lines.
std::string full_layout(StyleGanConfig config) {
  config.max_size = 1024;
  StyledGenerator g(config);
  Discriminator d(config);
  std::ostringstream out;
  auto list = [&](const char* section, const torch::nn::Module& module) {
    for (const auto& item : module.named_modules("", true)) {
      const std::string prefix = item.key().empty() ? "" : item.key() + ".";
      auto line = [&](const char* kind, const std::string& name, const torch::Tensor& t) {
        out << section << ' ' << kind << ' ' << prefix << name;
        for (auto s : t.sizes()) out << ' ' << s;
        out << '\n';
      };
      for (const auto& p : item.value()->named_parameters(false)) line("param", p.key(), p.value());
      for (const auto& b : item.value()->named_buffers(false)) line("buffer", b.key(), b.value());
    }
  };
  list("generator", *g);
  list("g_running", *g);
  list("discriminator", *d);
  return out.str();
}

// One short run (8x8, then 16x16 faded in) shared by the tests below.
class Interchange : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    write_tiny_lmdb(*dir_ / "d.lmdb");
    TrainOptions o = tiny_run(*dir_ / "d.lmdb", *dir_ / "run");
    o.max_iter = 8;
    result_ = new TrainResult(train(o));
    meta_ = new CheckpointMeta(read_checkpoint_meta(result_->last_checkpoint));
    test::write_file(*dir_ / "layout.txt", full_layout(meta_->model));
  }
  static void TearDownTestSuite() {
    delete meta_;
    delete result_;
    delete dir_;
  }
  static std::string ours() { return result_->last_checkpoint; }
  static const TempDir& dir() { return *dir_; }
  // Reference-format files made by Python from our checkpoint (once).
  static std::string reference_files() {
    static bool made = false;
    if (!made) {
      fs::create_directories(*dir_ / "ref");
      Python p = run_python("make_reference_checkpoints.py", {ours(), *dir_ / "layout.txt", *dir_ / "ref", "3"}, *dir_);
      EXPECT_EQ(p.status, 0) << p.output;
      made = true;
    }
    return *dir_ / "ref";
  }

  static TempDir* dir_;
  static TrainResult* result_;
  static CheckpointMeta* meta_;
};
TempDir* Interchange::dir_ = nullptr;
TrainResult* Interchange::result_ = nullptr;
CheckpointMeta* Interchange::meta_ = nullptr;

std::map<std::string, torch::Tensor> weights(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

void expect_same_weights(const torch::nn::Module& a, const torch::nn::Module& b) {
  auto wa = weights(a), wb = weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [name, t] : wa) EXPECT_TRUE(torch::equal(t, wb.at(name))) << name;
}

TEST_F(Interchange, PythonTorchLoadReadsOursWithAllNineBlocksAndAdamStateDicts) {
  Python p = run_python("check_checkpoint.py", {ours(), dir() / "layout.txt"}, dir());
  EXPECT_EQ(p.status, 0) << p.output;
  EXPECT_NE(p.output.find("OK"), std::string::npos) << p.output;
}

TEST_F(Interchange, DiscriminatorBlocksCarryTheReferenceIndexAtAnyMaxSize) {
  StyleGanConfig c = meta_->model;  // max_size 16: blocks for 16, 8 and 4
  Discriminator d(c);
  auto params = d->named_parameters();
  EXPECT_NE(params.find("progression.6.conv1.0.conv.weight_orig"), nullptr);  // 16x16 input
  EXPECT_NE(params.find("progression.8.conv2.0.conv.weight_orig"), nullptr);  // 4x4
  EXPECT_NE(params.find("from_rgb.6.0.conv.weight_orig"), nullptr);
  EXPECT_EQ(params.find("progression.0.conv1.0.conv.weight_orig"), nullptr);
}

TEST_F(Interchange, ReferenceTrainStepFileLoadsWithItsOptimiserState) {
  const std::string file = reference_files() + "/train_step-3.model";
  const CheckpointMeta meta = read_checkpoint_meta(file);
  EXPECT_EQ(meta.source, CheckpointSource::ReferenceTraining);
  EXPECT_EQ(meta.model.max_size, 1024);  // the reference always builds nine blocks
  EXPECT_EQ(meta.model.max_channels, meta_->model.max_channels);
  EXPECT_EQ(meta.model.image_channels, 1);
  EXPECT_EQ(meta.model.style_dim, 16);
  EXPECT_EQ(meta.model.n_mlp, 2);
  EXPECT_EQ(meta.trained_step, meta_->trained_step);  // from the noise weights: 16x16
  EXPECT_NE(meta.note.find("no schedule position"), std::string::npos) << meta.note;

  StepModels ours_models = make_step_models(meta_->model, 0.001, torch::kCPU);
  TrainPosition position;
  std::mt19937_64 rng;
  load_checkpoint(ours(), ours_models, position, rng);
  StepModels models = make_step_models(meta_->model, 0.001, torch::kCPU);
  const LoadReport report = load_checkpoint(file, models, position, rng);
  EXPECT_EQ(report.source, CheckpointSource::ReferenceTraining);
  EXPECT_FALSE(report.position);
  EXPECT_TRUE(report.optimizers);
  EXPECT_TRUE(report.discriminator);
  expect_same_weights(*models.generator, *ours_models.generator);
  expect_same_weights(*models.discriminator, *ours_models.discriminator);
  expect_same_weights(*models.ema, *ours_models.ema);
  // Python's Adam took one more step with every gradient 0.01: beta1 is 0,
  // so each first moment is now exactly the gradient.
  for (auto* opt : {models.g_optimizer.get(), models.d_optimizer.get()})
    for (const auto& group : opt->param_groups())
      for (const auto& p : group.params()) {
        const auto* state = find_adam_state(*opt, p);
        ASSERT_NE(state, nullptr);
        EXPECT_TRUE(torch::allclose(state->exp_avg(), torch::full_like(p, 0.01)));
      }
  const auto* before = find_adam_state(*ours_models.g_optimizer, ours_models.generator->style->parameters()[0]);
  const auto* after = find_adam_state(*models.g_optimizer, models.generator->style->parameters()[0]);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(after->step(), before->step() + 1);

  // The legacy (pre-1.6) container and an argparse.Namespace beside the state read the same.
  for (const char* other : {"/legacy-train_step-3.model", "/with-args.model"}) {
    StepModels again = make_step_models(meta_->model, 0.001, torch::kCPU);
    load_checkpoint(reference_files() + other, again, position, rng);
    expect_same_weights(*again.generator, *models.generator);
  }
}

TEST_F(Interchange, ResumingAReferenceFileTakesThePositionFromTheFlagsAndSaysSo) {
  TrainOptions o = tiny_run(dir() / "d.lmdb", dir() / "resumed");
  o.resume = reference_files() + "/train_step-3.model";
  o.max_iter = 2;
  std::vector<std::string> notes;
  o.on_note = [&](const std::string& n) { notes.push_back(n); };
  const TrainResult r = train(o);
  EXPECT_EQ(r.iterations, 2);
  EXPECT_EQ(r.final_size, 16);  // trained to 16x16, the largest size: continued there
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("no schedule position"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("starting at 16x16 at alpha 1"), std::string::npos) << notes[0];

  // With --init_size 8 the 8x8 stage starts again, at alpha 1 (it was trained).
  TrainOptions again = o;
  again.out = dir() / "resumed-8";
  again.schedule.init_size = 8;
  again.init_size_given = true;
  notes.clear();
  EXPECT_EQ(train(again).final_size, 8);
  EXPECT_NE(notes.at(0).find("starting at 8x8 at alpha 1 from iteration 0 (--init_size)"), std::string::npos);
}

TEST_F(Interchange, ReferenceEmaFileSamplesEvaluatesAndSeedsTraining) {
  const std::string file = reference_files() + "/000100.model";
  const CheckpointMeta meta = read_checkpoint_meta(file);
  EXPECT_EQ(meta.source, CheckpointSource::ReferenceGenerator);

  SampleOptions s;
  s.size = 16;
  s.rows = 2;
  s.cols = 2;
  s.device = "cpu";
  const SampleResult samples = write_samples(file, dir() / "ema-samples", s, open_checkpoint);
  EXPECT_TRUE(fs::exists(samples.samples));
  EXPECT_NE(samples.note.find("reference g_running file"), std::string::npos);
  s.size = 32;  // past what it trained
  try {
    write_samples(file, dir() / "ema-samples-32", s, open_checkpoint);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("trained to sizes 8, 16"), std::string::npos) << e.what();
  }

  EvalOptions e;
  e.fake = file;
  e.real = dir() / "d.lmdb";
  e.size = 16;
  e.n = 16;
  e.device = "cpu";
  EXPECT_GT(evaluate(e, open_checkpoint).swd.average, 0);

  TrainOptions o = tiny_run(dir() / "d.lmdb", dir() / "from-ema");
  o.resume = file;
  o.max_iter = 1;
  std::string note;
  o.on_note = [&](const std::string& n) { note = n; };
  train(o);
  EXPECT_NE(note.find("discriminator and optimisers fresh"), std::string::npos) << note;
}

TEST_F(Interchange, FilesWeCannotUseAreOneClearError) {
  auto message = [](const std::string& path) -> std::string {
    try {
      read_checkpoint_meta(path);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  };
  const std::string other = message(reference_files() + "/not-a-checkpoint.pt");
  EXPECT_NE(other.find("neither g_running nor a generator state dict"), std::string::npos) << other;
  EXPECT_NE(other.find("weights, epoch"), std::string::npos) << other;

  // A reference file cut anywhere: an InputError, never a crash.
  const std::string whole = test::read_file(reference_files() + "/train_step-3.model");
  const std::string legacy = test::read_file(reference_files() + "/legacy-train_step-3.model");
  for (const std::string* bytes : {&whole, &legacy})
    for (double fraction : {0.0, 0.001, 0.1, 0.5, 0.9, 0.999}) {
      const std::string cut = dir() / "cut.model";
      test::write_file(cut, bytes->substr(0, static_cast<size_t>(fraction * static_cast<double>(bytes->size()))));
      EXPECT_NE(message(cut), "(no error)") << fraction;
    }
  test::write_file(dir() / "text.model", "this is not a checkpoint\n");
  EXPECT_NE(message(dir() / "text.model").find("not a torch.save file"), std::string::npos);
}

// StyleGAN2: ours read by Python as stylegan2-pytorch reads them, and a
// file of its train.py (zip and legacy torch.save) read by us.
TEST(StyleGan2Interchange, PythonReadsOursAndWeReadItsTrainingCheckpoints) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o;
  o.lmdb = dir / "d.lmdb";
  o.out = dir / "run";
  o.arch = Architecture::StyleGan2;
  o.schedule.max_size = 16;
  o.schedule.batch = 4;
  o.model.max_channels = 8;
  o.model.style_dim = 16;
  o.model.n_mlp = 2;
  o.loss = GanLoss::R1;
  o.max_iter = 2;
  o.sample_every = 0;
  o.device = "cpu";
  const std::string ours = train(o).last_checkpoint;
  Python check = run_python("check_stylegan2_checkpoint.py", {ours}, dir);
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("OK"), std::string::npos) << check.output;

  for (const char* kind : {"zip", "legacy"}) {
    SCOPED_TRACE(kind);
    const std::string reference = dir / (std::string(kind) == "zip" ? "000300.pt" : "000400.pt");
    std::vector<std::string> args{ours, reference};
    if (std::string(kind) == "legacy") args.push_back("legacy");
    Python made = run_python("make_stylegan2_reference_checkpoint.py", args, dir);
    ASSERT_EQ(made.status, 0) << made.output;
    const auto info = stylegan2::read_checkpoint_info(reference);
    EXPECT_FALSE(info.ours);
    EXPECT_EQ(info.config.size, 16);
    EXPECT_EQ(info.config.max_channels, 8);
    EXPECT_EQ(info.config.style_dim, 16);
    EXPECT_EQ(info.config.n_mlp, 2);
    EXPECT_EQ(info.config.image_channels, 1);
    EXPECT_EQ(info.iteration, std::string(kind) == "zip" ? 300 : 400);
    stylegan2::Models models = stylegan2::make_models(info.config, 0.002, stylegan2::Loss::LogisticR1, {}, torch::kCPU);
    stylegan2::Models original = stylegan2::make_models(info.config, 0.002, stylegan2::Loss::LogisticR1, {}, torch::kCPU);
    TrainPosition position, original_position;
    double path_mean = 0;
    std::mt19937_64 rng;
    const LoadReport report = stylegan2::load_checkpoint(reference, models, position, path_mean, rng);
    stylegan2::load_checkpoint(ours, original, original_position, path_mean, rng);
    EXPECT_FALSE(report.position);
    EXPECT_TRUE(report.optimizers);
    EXPECT_EQ(position.iteration, info.iteration);
    auto loaded = models.ema->named_parameters(), before = original.ema->named_parameters();
    for (const auto& p : loaded) EXPECT_TRUE(torch::allclose(p.value(), before[p.key()] + 0.5)) << p.key();
  }
}

TEST(TorchFile, ReadsPicklesOfEveryKindACheckpointHolds) {
  TempDir dir;
  // Written by LibTorch's pickler: typed dicts, lists, tuples, None, a view.
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  auto base = torch::arange(12, torch::kFloat);
  dict.insert("view", base.view({3, 4}).slice(1, 1, 3));
  dict.insert("ints", c10::List<int64_t>({1, -2, 3000000000LL}));
  dict.insert("pair", c10::ivalue::Tuple::create(0.5, std::string("x")));
  dict.insert("none", c10::IValue());
  c10::impl::GenericDict by_int(c10::IntType::get(), c10::AnyType::get());
  by_int.insert(7, true);
  dict.insert("by_int", by_int);
  const auto bytes = torch::pickle_save(dict);
  const TorchFile file = read_torch_bytes(std::string_view(bytes.data(), bytes.size()), "mem");
  const PyValue& root = *file.root;
  ASSERT_TRUE(root.is(PyValue::Kind::Dict));
  EXPECT_TRUE(torch::equal(root.find("view")->tensor, base.view({3, 4}).slice(1, 1, 3)));
  EXPECT_EQ(root.find("ints")->items.at(2)->integer, 3000000000LL);
  EXPECT_EQ(root.find("ints")->items.at(1)->integer, -2);
  EXPECT_DOUBLE_EQ(root.find("pair")->items.at(0)->real, 0.5);
  EXPECT_TRUE(root.find("none")->is(PyValue::Kind::None));
  ASSERT_EQ(root.find("by_int")->entries.size(), 1u);
  EXPECT_EQ(root.find("by_int")->entries[0].first->integer, 7);
}

TEST(TorchFile, RefusesTensorsOutsideTheirStorage) {
  // A hand-made pickle: _rebuild_tensor_v2 over a 4-element storage asking
  // for 3 x 2 elements. The zip container comes from LibTorch's writer.
  using namespace std::string_literals;
  std::string pickle = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n" "((X\x07\x00\x00\x00storage"s;
  pickle += "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu" "K\x04" "tQ"s;
  pickle += "K\x00" "K\x03K\x02\x86" "K\x02K\x01\x86" "\x89" "ccollections\nOrderedDict\n)R" "tR."s;
  std::vector<char> container;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
      container.insert(container.end(), static_cast<const char*>(data), static_cast<const char*>(data) + n);
      return n;
    });
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    const float storage[4] = {1, 2, 3, 4};
    writer.writeRecord("data/0", storage, sizeof storage);
    writer.writeEndOfFile();
  }
  try {
    read_torch_bytes(std::string_view(container.data(), container.size()), "hostile.pt");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("reaching past its storage"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sg
