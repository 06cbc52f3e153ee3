#pragma once
// The thin node wrapper around a pure stage: runs the stage on items that
// are still good and turns a per-item failure into a value on the item (a
// dropped message would stall the ordered sink downstream).
#include <tbb/flow_graph.h>

#include <memory>
#include <new>
#include <string>

#include "common/errors.hpp"

namespace sg {

template <typename Item, typename Body>
tbb::flow::function_node<std::shared_ptr<Item>, std::shared_ptr<Item>> make_stage_node(tbb::flow::graph& graph,
                                                                                       const char* stage_name,
                                                                                       Body body) {
  return tbb::flow::function_node<std::shared_ptr<Item>, std::shared_ptr<Item>>(
      graph, tbb::flow::unlimited, [stage_name, body](std::shared_ptr<Item> item) {
        if (item->failed()) return item;
        try {
          body(*item);
        } catch (const InputError& e) {
          item->error = e.reason();
        } catch (const std::bad_alloc&) {
          item->error = std::string(stage_name) + ": out of memory";
        } catch (const std::exception& e) {
          item->error = std::string(stage_name) + ": " + e.what();
        }
        return item;
      });
}

}  // namespace sg
