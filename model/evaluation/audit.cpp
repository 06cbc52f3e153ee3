#include "model/evaluation/audit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/json_text.hpp"
#include "common/images/chart.hpp"
#include "common/images/image_grid.hpp"
#include "model/core/drawing.hpp"
#include "model/evaluation/memorization.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

ImageFeatures features_of(const ImageCollection& set, Split split, const std::vector<uint64_t>& indexes,
                          const AuditOptions& o) {
  return collection_features(set, split, indexes, o.fine_resolution, o.coarse_resolution);
}

// A CSV field: quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string number(double value) {
  if (!std::isfinite(value)) return "";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}


void write_csv(const std::string& path, const AuditReport& r) {
  std::ostringstream csv;
  const bool features = !r.feature_network.empty();
  csv << "rank,subject,training_images,nearest_samples,copies,closest_distance"
      << (features ? ",feature_nearest_samples,feature_copies" : "") << "\n";
  for (size_t i = 0; i < r.patients.size(); ++i) {
    const PatientAudit& p = r.patients[i];
    csv << i + 1 << ',' << csv_field(p.subject) << ',' << p.training_images << ',' << p.nearest_samples << ','
        << p.copies << ',' << number(p.closest);
    if (features) csv << ',' << p.feature_nearest_samples << ',' << p.feature_copies;
    csv << '\n';
  }
  if (fs::path(path).has_parent_path()) create_output_folder(fs::path(path).parent_path().string());
  write_file_atomically(path, csv.str(), "audit CSV");
}

// The closest samples, each beside its nearest training image, captioned
// with the patient and the distance ("copy" below the threshold).
void write_pairs(const std::string& path, const torch::Tensor& generated, const Nearest& nearest,
                 const ImageCollection& real, const std::vector<std::string>& subjects, double threshold,
                 int count) {
  const std::vector<size_t> order = closest_rows(nearest.distance, static_cast<size_t>(std::max(count, 1)));
  const size_t shown = order.size();
  std::vector<int64_t> rows;
  std::vector<uint64_t> train_rows;
  for (size_t i = 0; i < shown; ++i) {
    rows.push_back(static_cast<int64_t>(order[i]));
    train_rows.push_back(static_cast<uint64_t>(nearest.index[order[i]]));
  }
  const auto samples = uint8_to_images(generated.index_select(0, torch::tensor(rows, torch::kLong)).contiguous());
  const auto training =
      uint8_to_images(convert_channels(real.read(TRAIN, train_rows), static_cast<int>(generated.size(1))).contiguous());
  std::vector<Image8> cells;
  for (size_t i = 0; i < shown; ++i) {
    const double d = nearest.distance[order[i]];
    char caption[160];
    std::snprintf(caption, sizeof caption, "%s %.4f%s", subjects[train_rows[i]].substr(0, 40).c_str(), d,
                  d < threshold ? " COPY" : "");
    cells.push_back(add_caption(readable_grid({samples[i], training[i]}, 2), caption));
  }
  if (fs::path(path).has_parent_path()) create_output_folder(fs::path(path).parent_path().string());
  write_png(path, make_grid(cells, static_cast<int>(std::min<size_t>(4, cells.size())), 6, 128));
}

// Features of a whole split, a chunk at a time.
torch::Tensor network_features(const ImageCollection& set, Split split, const std::vector<uint64_t>& indexes,
                               const AuditOptions& o) {
  constexpr size_t kChunk = 256;
  std::vector<torch::Tensor> parts;
  for (size_t first = 0; first < indexes.size(); first += kChunk) {
    const std::vector<uint64_t> chunk(indexes.begin() + static_cast<std::ptrdiff_t>(first),
                                      indexes.begin() + static_cast<std::ptrdiff_t>(std::min(indexes.size(), first + kChunk)));
    parts.push_back(o.features(set.read(split, chunk)).to(torch::kFloat));
  }
  return torch::cat(parts);
}

// Each query's nearest row of `train` (Euclidean), leaving out the rows of
// its own group when groups are given; exact, by blocks of queries.
Nearest nearest_rows(const torch::Tensor& queries, const torch::Tensor& train, const std::vector<int64_t>& query_groups,
                     const std::vector<int64_t>& train_groups) {
  Nearest result;
  const int64_t n = queries.size(0);
  result.distance.assign(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  result.index.assign(static_cast<size_t>(n), -1);
  const torch::Tensor t = train.to(torch::kDouble), norms = t.square().sum(1);
  torch::Tensor groups;
  if (!train_groups.empty()) groups = torch::tensor(train_groups, torch::kLong);
  constexpr int64_t kBlock = 512;
  for (int64_t q0 = 0; q0 < n; q0 += kBlock) {
    const torch::Tensor q = queries.slice(0, q0, std::min(n, q0 + kBlock)).to(torch::kDouble);
    torch::Tensor d2 = (q.square().sum(1, true) + norms.unsqueeze(0) - 2 * torch::mm(q, t.t())).clamp_min(0);
    if (!query_groups.empty()) {
      const auto own = torch::tensor(std::vector<int64_t>(query_groups.begin() + q0, query_groups.begin() + q0 + q.size(0)),
                                     torch::kLong);
      d2.masked_fill_(own.unsqueeze(1) == groups.unsqueeze(0), std::numeric_limits<double>::infinity());
    }
    const auto [best, at] = d2.min(1);
    for (int64_t i = 0; i < q.size(0); ++i) {
      const double d = best[i].item<double>();
      if (!std::isfinite(d)) continue;
      result.distance[static_cast<size_t>(q0 + i)] = std::sqrt(d);
      result.index[static_cast<size_t>(q0 + i)] = at[i].item<int64_t>();
    }
  }
  return result;
}

}  // namespace

AuditReport audit_patients(const ImageCollection& real, const torch::Tensor& generated, const AuditOptions& o) {
  AuditReport report;
  const std::vector<std::string> subjects = real.subjects(TRAIN);
  const uint64_t train_length = real.length(TRAIN);
  if (train_length == 0) throw InputError(real.path(), "no training images to audit against");
  if (subjects.size() != train_length)
    throw InputError(real.path(), "keeps no subject per record (an LMDB made by an sg_prep before December 2026, "
                                  "or not by sg_prep): prepare it again to audit by patient");
  report.resolution = std::min(real.size(), o.fine_resolution);
  report.training_images = train_length;
  report.generated = static_cast<uint64_t>(generated.size(0));
  report.pseudonymised = real.pseudonymised();

  // Patients as numbers, in order of first appearance.
  std::map<std::string, int64_t> patient_of;
  std::vector<int64_t> train_patient(subjects.size());
  for (size_t i = 0; i < subjects.size(); ++i) {
    const auto [it, added] = patient_of.emplace(subjects[i], static_cast<int64_t>(report.patients.size()));
    if (added) report.patients.push_back({subjects[i]});
    train_patient[i] = it->second;
    ++report.patients[static_cast<size_t>(it->second)].training_images;
  }
  const ImageFeatures train =
      o.train_features ? *o.train_features : features_of(real, TRAIN, every_index(train_length), o);

  Nearest held_out;
  const bool held_out_split = real.length(VALIDATE) > 0 || real.length(TEST) > 0;
  const Split split = real.length(VALIDATE) > 0 ? VALIDATE : TEST;
  std::vector<uint64_t> held_out_indexes;
  std::vector<int64_t> held_out_groups;  // leave-one-patient-out: each row's own patient
  if (held_out_split) {
    held_out_indexes = pick_indexes(real.length(split), o.held_out_images, o.seed + 3);
    held_out = nearest_training_images(features_of(real, split, held_out_indexes, o), train);
    report.held_out = std::string(split == VALIDATE ? "validate" : "test") + " split (patients that never trained)";
  } else {
    if (report.patients.size() < 2)
      throw InputError(real.path(), "holds one patient and no held-out split: no other patient to compare with");
    held_out_indexes = pick_indexes(train_length, o.held_out_images, o.seed + 3);
    for (uint64_t i : held_out_indexes) held_out_groups.push_back(train_patient[i]);
    const auto rows = torch::tensor(std::vector<int64_t>(held_out_indexes.begin(), held_out_indexes.end()), torch::kLong);
    held_out = nearest_other_group_images({train.fine.index_select(0, rows), train.coarse.index_select(0, rows)},
                                          held_out_groups, train, train_patient);
    report.held_out = "leave-one-patient-out over the training set (no held-out split)";
  }
  report.held_out_images = held_out_indexes.size();
  report.threshold = *std::min_element(held_out.distance.begin(), held_out.distance.end());
  report.chance_copies = static_cast<double>(report.generated) / static_cast<double>(report.held_out_images + 1);

  const torch::Tensor images = convert_channels(generated, real.channels()).contiguous();
  const Nearest nearest = nearest_training_images(image_features(images, o.fine_resolution, o.coarse_resolution), train);
  for (size_t i = 0; i < nearest.distance.size(); ++i) {
    PatientAudit& p = report.patients[static_cast<size_t>(train_patient[static_cast<size_t>(nearest.index[i])])];
    ++p.nearest_samples;
    p.closest = std::min(p.closest, nearest.distance[i]);
    if (nearest.distance[i] < report.threshold) {
      ++p.copies;
      ++report.copies;
    }
  }
  if (o.features) {
    // The same in the network's feature space: nearest by Euclidean distance of features.
    report.feature_network = o.feature_network;
    const torch::Tensor train_features = network_features(real, TRAIN, every_index(train_length), o);
    const torch::Tensor held_out_features =
        held_out_split ? network_features(real, split, held_out_indexes, o)
                       : train_features.index_select(
                             0, torch::tensor(std::vector<int64_t>(held_out_indexes.begin(), held_out_indexes.end()),
                                              torch::kLong));
    const Nearest held = nearest_rows(held_out_features, train_features, held_out_groups,
                                      held_out_split ? std::vector<int64_t>{} : train_patient);
    report.feature_threshold = *std::min_element(held.distance.begin(), held.distance.end());
    std::vector<torch::Tensor> parts;
    for (int64_t first = 0; first < images.size(0); first += 256)
      parts.push_back(o.features(images.slice(0, first, std::min(images.size(0), first + 256))).to(torch::kFloat));
    const Nearest in_features = nearest_rows(torch::cat(parts), train_features, {}, {});
    for (size_t i = 0; i < in_features.distance.size(); ++i) {
      PatientAudit& p = report.patients[static_cast<size_t>(train_patient[static_cast<size_t>(in_features.index[i])])];
      ++p.feature_nearest_samples;
      if (in_features.distance[i] < report.feature_threshold) {
        ++p.feature_copies;
        ++report.feature_copies;
      }
    }
  }
  // Copies in either space, pixels first.
  std::stable_sort(report.patients.begin(), report.patients.end(), [](const PatientAudit& a, const PatientAudit& b) {
    if (a.copies != b.copies) return a.copies > b.copies;
    if (a.feature_copies != b.feature_copies) return a.feature_copies > b.feature_copies;
    return a.closest < b.closest;
  });
  if (!o.csv.empty()) {
    write_csv(o.csv, report);
    report.csv = o.csv;
  }
  if (!o.png.empty()) {
    write_pairs(o.png, images, nearest, real, subjects, report.threshold, o.pairs);
    report.png = o.png;
  }
  return report;
}

std::string audit_json(const AuditReport& r) {
  std::ostringstream s;
  s << "{\"what\": \"per training patient: generated images whose nearest training image (RMS pixel distance, 0..1) "
       "is that patient's, and of them those closer than any held-out image is to its nearest training image\""
    << ", \"resolution\": " << r.resolution << ", \"generated\": " << r.generated
    << ", \"training_images\": " << r.training_images << ", \"patients\": " << r.patients.size()
    << ", \"held_out\": " << json_string(r.held_out) << ", \"held_out_images\": " << r.held_out_images
    << ", \"threshold\": " << json_number(r.threshold) << ", \"copies\": " << r.copies
    << ", \"copies_expected_of_unseen_patients\": " << json_number(r.chance_copies)
    << ", \"subjects\": " << json_string(r.pseudonymised ? "keyed hashes (sg_prep --pseudonymise)" : "ids")
    << ", \"csv\": " << (r.csv.empty() ? "null" : json_string(r.csv))
    << ", \"pairs_png\": " << (r.png.empty() ? "null" : json_string(r.png));
  if (!r.feature_network.empty())
    s << ", \"feature_space\": {\"network\": " << json_string(r.feature_network)
      << ", \"threshold\": " << json_number(r.feature_threshold) << ", \"copies\": " << r.feature_copies << "}";
  s << ", \"ranked\": [";
  for (size_t i = 0; i < r.patients.size(); ++i) {
    const PatientAudit& p = r.patients[i];
    s << (i ? ", " : "") << "{\"subject\": " << json_string(p.subject) << ", \"training_images\": " << p.training_images
      << ", \"nearest_samples\": " << p.nearest_samples << ", \"copies\": " << p.copies
      << ", \"closest\": " << json_number(p.closest);
    if (!r.feature_network.empty())
      s << ", \"feature_nearest_samples\": " << p.feature_nearest_samples << ", \"feature_copies\": " << p.feature_copies;
    s << "}";
  }
  s << "]}";
  return s.str();
}

std::string format_audit(const AuditReport& r, size_t shown) {
  std::ostringstream s;
  char line[512];
  std::snprintf(line, sizeof line,
                "patient audit at %dx%d: %llu of %llu generated images are copies (closer to a training image than "
                "any of %llu held-out images, %.4f; %s)\n",
                r.resolution, r.resolution, static_cast<unsigned long long>(r.copies),
                static_cast<unsigned long long>(r.generated), static_cast<unsigned long long>(r.held_out_images),
                r.threshold, r.held_out.c_str());
  s << line;
  if (!r.feature_network.empty()) {
    std::snprintf(line, sizeof line, "  in %s features: %llu copies (closer than any held-out image, %.4g)\n",
                  r.feature_network.c_str(), static_cast<unsigned long long>(r.feature_copies), r.feature_threshold);
    s << line;
  }
  size_t replayed = 0;
  for (const PatientAudit& p : r.patients) replayed += p.copies > 0 || p.feature_copies > 0;
  std::snprintf(line, sizeof line,
                "  %zu of %zu training patients replayed%s; real images of unseen patients would give %.2f copies\n",
                replayed, r.patients.size(), r.pseudonymised ? " (subjects are keyed hashes)" : "", r.chance_copies);
  s << line;
  for (size_t i = 0; i < std::min(shown, r.patients.size()); ++i) {
    const PatientAudit& p = r.patients[i];
    char closest[32] = "-";
    if (std::isfinite(p.closest)) std::snprintf(closest, sizeof closest, "%.4f", p.closest);
    std::snprintf(line, sizeof line, "  %2zu. %-24s %4llu copies, %5llu nearest samples, closest %s, %llu training images",
                  i + 1, p.subject.substr(0, 24).c_str(), static_cast<unsigned long long>(p.copies),
                  static_cast<unsigned long long>(p.nearest_samples), closest,
                  static_cast<unsigned long long>(p.training_images));
    s << line;
    if (!r.feature_network.empty()) s << "; " << p.feature_copies << " copies in features";
    s << "\n";
  }
  if (!r.csv.empty()) s << "  every patient: " << r.csv << "\n";
  if (!r.png.empty()) s << "  closest pairs (generated left, training right, patients named): " << r.png << "\n";
  return s.str();
}

}  // namespace sg
