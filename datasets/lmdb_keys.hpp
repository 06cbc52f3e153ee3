#pragma once
// The LMDB layout shared by writer, reader and the reference Python dataset.
#include <cstdio>
#include <string>

#include "dataset.pb.h"

namespace sg {

// 2: the meta records the split rule's version and subjects per split
// (format 1 LMDBs read the same; their held-out splits may be near empty).
constexpr unsigned kLmdbFormatVersion = 2;

// "{size}-{index:05d}": zero-padded to 5 digits, wider past 99,999.
inline std::string record_key(int size, uint64_t index) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%d-%05llu", size, static_cast<unsigned long long>(index));
  return buffer;
}

// The main database (TRAIN) has no name; held-out splits are named.
inline const char* split_database_name(Split split) {
  switch (split) {
    case VALIDATE: return "validate";
    case TEST: return "test";
    default: return nullptr;
  }
}

// Class labels (datasets with a label rule) live in a database per split
// beside the images: "labels", "validate-labels", "test-labels".
inline const char* labels_database_name(Split split) {
  switch (split) {
    case VALIDATE: return "validate-labels";
    case TEST: return "test-labels";
    default: return "labels";
  }
}

// "label-{index:05d}" -> the class index as decimal text.
inline std::string label_key(uint64_t index) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "label-%05llu", static_cast<unsigned long long>(index));
  return buffer;
}

// Each record's subject (the id the config's subject rule gave, or its
// keyed hash under sg_prep --pseudonymise) in a database per split:
// "subjects", "validate-subjects", "test-subjects".
inline const char* subjects_database_name(Split split) {
  switch (split) {
    case VALIDATE: return "validate-subjects";
    case TEST: return "test-subjects";
    default: return "subjects";
  }
}

// "subject-{index:05d}" -> the subject's id (or pseudonym) as text.
inline std::string subject_key(uint64_t index) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "subject-%05llu", static_cast<unsigned long long>(index));
  return buffer;
}

// Which of a split's databases a record goes to.
enum class RecordDatabase { Images, Labels, Subjects };

inline const char* database_name(Split split, RecordDatabase database) {
  switch (database) {
    case RecordDatabase::Labels: return labels_database_name(split);
    case RecordDatabase::Subjects: return subjects_database_name(split);
    default: return split_database_name(split);
  }
}

inline const char* split_display_name(Split split) {
  switch (split) {
    case VALIDATE: return "validate";
    case TEST: return "test";
    default: return "train";
  }
}

}  // namespace sg
