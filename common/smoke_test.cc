#include "Eigen/Core"
#include "glog/logging.h"
#include "gtest/gtest.h"
#include "msgpack.hpp"
#include "proto/model_config.pb.h"

TEST(Smoke, Builds) {
  ember::config::ModelConfig c;
  c.set_name("x");
  Eigen::MatrixXf m(2, 2);
  m.setZero();
  EXPECT_EQ(c.name(), "x");
}
