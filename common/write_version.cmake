# Writes OUT (a C++ header defining SG_TOOL_VERSION) from the project version
# and the source tree's git commit, at every build, touching the file only
# when its text changes (so an unchanged commit rebuilds nothing).
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=10 HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
set(text "stylegan-cpp ${VERSION}")
if(NOT failed AND commit)
  execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
                  OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(changes)
    set(commit "${commit}, with uncommitted changes")
  endif()
  set(text "${text} (git ${commit})")
endif()
set(header "#pragma once\n#define SG_TOOL_VERSION \"${text}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL header)
  file(WRITE "${OUT}" "${header}")
endif()
