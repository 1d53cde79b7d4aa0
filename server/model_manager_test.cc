// Lifecycle tests: the manager driven by a watcher without its thread, over
// real files in a temp repository, with a loader the tests hold and release.
// The watcher's settle time is long, so a file is complete only once two
// looks agree; `Look()` takes both.

#include "server/model_manager.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/repository_fs.h"
#include "server/repository_watcher.h"
#include "server/test_util.h"

namespace ember::server {
namespace {

using testing::NewTempDir;
using testing::OffsetModel;
using testing::ParseTestConfig;
using testing::TestLoader;
using testing::WriteFile;
using testing::WriteFileAtomically;

constexpr absl::Duration kWait = absl::Seconds(30);

// A RepositoryFs whose root listing can be made to fail, as when a network
// volume drops out.
class FlakyFs : public RepositoryFs {
 public:
  void set_broken(bool broken) {
    absl::MutexLock lock(&mu_);
    broken_ = broken;
  }
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) const override {
    {
      absl::MutexLock lock(&mu_);
      if (broken_) return absl::PermissionDeniedError("volume unavailable");
    }
    return local_.ListDir(path);
  }
  absl::StatusOr<FileInfo> Stat(const std::string& path) const override {
    return local_.Stat(path);
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) const override {
    return local_.ReadFile(path);
  }

 private:
  LocalRepositoryFs local_;
  mutable absl::Mutex mu_;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = NewTempDir("repo"); }

  void Start(bool unload_first = false) {
    ModelManager::Options options;
    options.load_threads = 2;
    options.unload_first = unload_first;
    options.loader = loader_.AsLoader();
    options.config_parser = ParseTestConfig;
    options.fs = &fs_;
    absl::StatusOr<std::unique_ptr<ModelManager>> manager =
        ModelManager::Create(std::move(options));
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);

    RepositoryWatcher::Options watch;
    watch.root = root_;
    watch.settle_time = absl::Hours(1);
    watch.use_inotify = false;
    watch.start_thread = false;
    absl::StatusOr<std::unique_ptr<RepositoryWatcher>> watcher =
        RepositoryWatcher::Create(watch, &fs_, manager_.get());
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    watcher_ = *std::move(watcher);
  }

  void TearDown() override {
    loader_.Release();
    watcher_.reset();
    manager_.reset();
  }

  // Two looks: files unchanged between them count as complete.
  void Look() {
    (void)watcher_->RescanNow();
    (void)watcher_->RescanNow();
  }

  void WriteConfig(const std::string& model, const std::string& extra = "") {
    WriteFile(root_ + "/" + model + "/config.pbtxt",
              "name: \"" + model + "\" " + extra);
  }

  // The offset of the model serving `version` of `model`, or NaN.
  float Served(const std::string& model, const std::string& version = "") {
    absl::StatusOr<std::shared_ptr<const ServableVersion>> v =
        manager_->Acquire(model, version);
    if (!v.ok()) return std::nanf("");
    return static_cast<const OffsetModel&>(*(*v)->model).offset();
  }

  VersionStatus StatusOf(const std::string& model, int64_t version) {
    for (const VersionStatus& s : manager_->Index()) {
      if (s.model == model && s.version == version) return s;
    }
    return {model, version, VersionState::kUnavailable, "<not listed>"};
  }

  bool AwaitState(const std::string& model, int64_t version,
                  VersionState state) {
    return manager_->AwaitVersionState(model, version, state, kWait);
  }

  std::string root_;
  FlakyFs fs_;
  TestLoader loader_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<RepositoryWatcher> watcher_;
};

TEST_F(ModelManagerTest, AddsAModelAndServesIt) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  loader_.Hold();
  Look();
  ASSERT_TRUE(loader_.AwaitStarted(1));
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kLoading);
  EXPECT_TRUE(absl::IsUnavailable(manager_->Acquire("m", "").status()));
  EXPECT_TRUE(absl::IsUnavailable(manager_->Acquire("m", "1").status()));

  loader_.Release();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));
  EXPECT_EQ(Served("m"), 1.0f);
  EXPECT_EQ(Served("m", "1"), 1.0f);
  EXPECT_TRUE(absl::IsNotFound(manager_->Acquire("m", "2").status()));
  EXPECT_TRUE(absl::IsNotFound(manager_->Acquire("other", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(manager_->Acquire("m", "one").status()));
}

TEST_F(ModelManagerTest, AModelWhoseOnlyRecordIsADanglingLinkSaysSo) {
  Start();
  WriteConfig("m");
  testing::MakeDirs(root_ + "/m/1");
  ASSERT_EQ(
      symlink("/nonexistent/model.mpk", (root_ + "/m/1/model.mpk").c_str()), 0);
  Look();
  const std::string reason = StatusOf("m", 0).reason;
  EXPECT_TRUE(absl::StartsWith(reason,
                               "no version with a record file: "
                               "1/model.mpk: "))
      << reason;
  EXPECT_TRUE(absl::StrContains(reason, "symbolic link")) << reason;
  EXPECT_EQ(loader_.started(), 0);
}

TEST_F(ModelManagerTest, AFileSeenOnceIsNotLoadedUntilItStopsChanging) {
  Start();
  WriteConfig("m");
  Look();
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  ASSERT_TRUE(watcher_->RescanNow().ok());  // first look: maybe half-written
  ASSERT_TRUE(watcher_->RescanNow().ok());  // unchanged: complete
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  WriteFile(root_ + "/m/2/model.mpk", "offset=2");
  ASSERT_TRUE(watcher_->RescanNow().ok());
  WriteFile(root_ + "/m/2/model.mpk", "offset=2.5");  // still being written
  ASSERT_TRUE(watcher_->RescanNow().ok());
  EXPECT_EQ(loader_.started(), 1);
  EXPECT_EQ(Served("m"), 1.0f);
  ASSERT_TRUE(watcher_->RescanNow().ok());
  ASSERT_TRUE(AwaitState("m", 2, VersionState::kReady));
  EXPECT_EQ(Served("m"), 2.5f);
}

TEST_F(ModelManagerTest, ReplacedRecordSwapsInOnlyWhenLoaded) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  loader_.Hold();
  WriteFileAtomically(root_ + "/m/1/model.mpk", "offset=10");
  Look();
  ASSERT_TRUE(loader_.AwaitStarted(2));
  // The old record keeps serving while the new one loads.
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kReady);
  EXPECT_EQ(Served("m"), 1.0f);
  std::shared_ptr<const ServableVersion> in_flight =
      *manager_->Acquire("m", "");

  loader_.Release();
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(Served("m"), 10.0f);
  // A request that started before the swap still holds the old instance.
  EXPECT_EQ(static_cast<const OffsetModel&>(*in_flight->model).offset(), 1.0f);
  EXPECT_EQ(OffsetModel::LiveCount(), 2);
  // Released when the last holder lets go (the load thread may still hold
  // the previous routing table for a moment).
  in_flight.reset();
  EXPECT_TRUE(OffsetModel::AwaitLiveCount(1, kWait));
}

TEST_F(ModelManagerTest, BadRecordLeavesThePreviousOneServing) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  WriteFileAtomically(root_ + "/m/1/model.mpk", "bad");
  Look();
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(Served("m"), 1.0f);
  const VersionStatus status = StatusOf("m", 1);
  EXPECT_EQ(status.state, VersionState::kReady);
  EXPECT_NE(status.reason.find("failed to load"), std::string::npos)
      << status.reason;
  EXPECT_NE(status.reason.find("still serving the previous record"),
            std::string::npos);

  // The same bad bytes are not retried on every look.
  Look();
  EXPECT_EQ(loader_.started(), 2);

  // A new bad version leaves the older version serving too.
  WriteFile(root_ + "/m/2/model.mpk", "bad");
  Look();
  ASSERT_TRUE(AwaitState("m", 2, VersionState::kUnavailable));
  EXPECT_EQ(Served("m"), 1.0f);
  EXPECT_NE(StatusOf("m", 2).reason.find("not a test record"),
            std::string::npos);
}

TEST_F(ModelManagerTest, NewVersionReplacesOldOnlyOnceReady) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  loader_.Hold();
  WriteFile(root_ + "/m/2/model.mpk", "offset=2");
  Look();
  ASSERT_TRUE(loader_.AwaitStarted(2));
  EXPECT_EQ(StatusOf("m", 2).state, VersionState::kLoading);
  EXPECT_EQ(Served("m"), 1.0f);  // latest-1 policy, but 2 is not ready

  loader_.Release();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kUnavailable));
  EXPECT_EQ(Served("m"), 2.0f);
  EXPECT_TRUE(absl::IsUnavailable(manager_->Acquire("m", "1").status()));
}

TEST_F(ModelManagerTest, RemovedVersionUnloadsAfterItsRequestsFinish) {
  Start();
  WriteConfig("m", "version_policy { all {} }");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  WriteFile(root_ + "/m/2/model.mpk", "offset=2");
  Look();
  ASSERT_TRUE(AwaitState("m", 2, VersionState::kReady));
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  std::shared_ptr<const ServableVersion> in_flight =
      *manager_->Acquire("m", "2");
  testing::RemoveTree(root_ + "/m/2");
  Look();
  EXPECT_EQ(StatusOf("m", 2).state, VersionState::kUnloading);
  EXPECT_TRUE(absl::IsUnavailable(manager_->Acquire("m", "2").status()));
  EXPECT_EQ(Served("m"), 1.0f);
  in_flight.reset();
  EXPECT_EQ(StatusOf("m", 2).state, VersionState::kUnavailable);
  Look();  // gone from the repository and released: dropped from the index
  EXPECT_EQ(StatusOf("m", 2).reason, "<not listed>");
}

TEST_F(ModelManagerTest, RemovedModelIsUnloaded) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));
  testing::RemoveTree(root_ + "/m");
  Look();
  EXPECT_TRUE(absl::IsNotFound(manager_->Acquire("m", "").status()));
  EXPECT_TRUE(manager_->Index().empty());
  EXPECT_EQ(OffsetModel::LiveCount(), 0);
}

TEST_F(ModelManagerTest, BadConfigMakesANewModelUnavailable) {
  Start();
  WriteConfig("good");
  WriteFile(root_ + "/good/1/model.mpk", "offset=1");
  WriteFile(root_ + "/broken/config.pbtxt", "this is { not a config");
  WriteFile(root_ + "/broken/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("good", 1, VersionState::kReady));
  absl::Status broken = manager_->Acquire("broken", "").status();
  EXPECT_TRUE(absl::IsUnavailable(broken)) << broken;
  EXPECT_NE(broken.message().find("invalid config"), std::string::npos)
      << broken;
  EXPECT_EQ(loader_.started(), 1);  // one bad model does not block others
}

TEST_F(ModelManagerTest, BadConfigChangeKeepsServingThePreviousConfig) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  WriteFile(root_ + "/m/config.pbtxt", "garbage {");
  Look();
  EXPECT_EQ(Served("m"), 1.0f);
  EXPECT_NE(StatusOf("m", 1).reason.find("still serving with the previous"),
            std::string::npos)
      << StatusOf("m", 1).reason;

  // A valid change rebuilds the versions with the new config.
  WriteConfig("m", "max_batch_size: 8");
  Look();
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(loader_.started(), 2);
  EXPECT_EQ((*manager_->Acquire("m", ""))->config.max_batch_size(), 8);
  EXPECT_EQ(StatusOf("m", 1).reason, "");
}

// Changing only which versions are served (or unload_first) keeps what is
// loaded: no rebuild, and so no outage even with unload_first.
TEST_F(ModelManagerTest, PolicyOnlyConfigChangeKeepsLoadedVersions) {
  Start();
  WriteConfig("m", "unload_first: true");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  WriteFile(root_ + "/m/2/model.mpk", "offset=2");
  Look();
  ASSERT_TRUE(AwaitState("m", 2, VersionState::kReady));
  ASSERT_EQ(loader_.started(), 1);  // latest 1: only version 2
  const absl::Time loaded = (*manager_->Acquire("m", "2"))->loaded_at;

  WriteConfig("m",
              "unload_first: true version_policy { latest { num_versions: 2 "
              "} }");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(loader_.started(), 2);  // version 1 only; 2 was kept
  EXPECT_EQ((*manager_->Acquire("m", "2"))->loaded_at, loaded);
  EXPECT_EQ(
      manager_->CurrentConfig("m")->version_policy().latest().num_versions(),
      2u);

  // A change that alters the build rebuilds both.
  WriteConfig("m",
              "unload_first: true max_batch_size: 4 version_policy { latest "
              "{ num_versions: 2 } }");
  Look();
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(loader_.started(), 4);
  EXPECT_EQ((*manager_->Acquire("m", "2"))->config.max_batch_size(), 4);
  EXPECT_TRUE(absl::IsNotFound(manager_->CurrentConfig("nope").status()));
}

TEST_F(ModelManagerTest, UnreadableRepositoryKeepsEverythingServing) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  fs_.set_broken(true);
  EXPECT_FALSE(watcher_->RescanNow().ok());
  EXPECT_EQ(Served("m"), 1.0f);
  const VersionStatus status = StatusOf("m", 1);
  EXPECT_EQ(status.state, VersionState::kReady);
  EXPECT_NE(status.reason.find("volume unavailable"), std::string::npos)
      << status.reason;

  fs_.set_broken(false);
  Look();
  EXPECT_EQ(Served("m"), 1.0f);
  EXPECT_EQ(StatusOf("m", 1).reason, "");
}

TEST_F(ModelManagerTest, UnloadFirstReleasesTheOldInstanceBeforeLoading) {
  Start(/*unload_first=*/true);
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  std::shared_ptr<const ServableVersion> in_flight =
      *manager_->Acquire("m", "");
  WriteFileAtomically(root_ + "/m/1/model.mpk", "offset=3");
  Look();
  // Out of service at once; the load waits for the request to finish.
  EXPECT_TRUE(absl::IsUnavailable(manager_->Acquire("m", "").status()));
  EXPECT_EQ(loader_.started(), 1);
  in_flight.reset();
  ASSERT_TRUE(loader_.AwaitStarted(2));
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));
  EXPECT_EQ(Served("m"), 3.0f);
  EXPECT_TRUE(OffsetModel::AwaitLiveCount(1, kWait));
}

TEST_F(ModelManagerTest, DisallowKeepsAModelOutUntilAllowed) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));

  ASSERT_TRUE(manager_->DisallowModel("m").ok());
  Look();
  EXPECT_TRUE(absl::IsUnavailable(manager_->Acquire("m", "").status()));
  EXPECT_TRUE(absl::IsNotFound(manager_->DisallowModel("nope")));

  manager_->AllowModel("m");
  Look();
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(Served("m"), 1.0f);
}

TEST_F(ModelManagerTest, FollowsSymlinkSwappedVolumes) {
  // Kubernetes ConfigMap/Secret volumes: visible names are symlinks into
  // "..data", itself a symlink swapped atomically to a new directory.
  Start();
  const std::string dir = root_ + "/m";
  WriteFile(dir + "/..v1/config.pbtxt", "name: \"m\"");
  WriteFile(dir + "/..v1/model.mpk", "offset=1");
  ASSERT_EQ(symlink("..v1", (dir + "/..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/config.pbtxt", (dir + "/config.pbtxt").c_str()), 0);
  testing::MakeDirs(dir + "/1");
  ASSERT_EQ(symlink("../..data/model.mpk", (dir + "/1/model.mpk").c_str()), 0);
  Look();
  ASSERT_TRUE(AwaitState("m", 1, VersionState::kReady));
  EXPECT_EQ(Served("m"), 1.0f);

  WriteFile(dir + "/..v2/config.pbtxt", "name: \"m\"");
  WriteFile(dir + "/..v2/model.mpk", "offset=2");
  ASSERT_EQ(symlink("..v2", (dir + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(rename((dir + "/..data_tmp").c_str(), (dir + "/..data").c_str()),
            0);
  Look();
  ASSERT_TRUE(manager_->AwaitModelSettled("m", kWait).ok());
  EXPECT_EQ(Served("m"), 2.0f);
}

TEST_F(ModelManagerTest, WaitUntilServingSaysWhetherAVersionWillServe) {
  Start();
  WriteConfig("m");
  WriteFile(root_ + "/m/1/model.mpk", "offset=1");
  const absl::Time deadline = absl::Now() + kWait;
  Look();
  EXPECT_TRUE(manager_->WaitUntilServing("m", 1, deadline).ok());

  WriteFile(root_ + "/m/2/model.mpk", "bad");
  Look();
  absl::Status failed = manager_->WaitUntilServing("m", 2, deadline);
  EXPECT_TRUE(absl::IsFailedPrecondition(failed)) << failed;
  EXPECT_NE(failed.message().find("failed to load"), std::string::npos);

  // Version 3 is served; version 1 is then below the latest-1 policy.
  WriteFile(root_ + "/m/3/model.mpk", "offset=3");
  Look();
  EXPECT_TRUE(manager_->WaitUntilServing("m", 3, deadline).ok());
  Look();
  absl::Status old = manager_->WaitUntilServing("m", 1, deadline);
  EXPECT_TRUE(absl::IsFailedPrecondition(old)) << old;

  // Not in the repository (yet): waits until the deadline.
  absl::Status absent =
      manager_->WaitUntilServing("m", 9, absl::Now() + absl::Milliseconds(50));
  EXPECT_TRUE(absl::IsDeadlineExceeded(absent)) << absent;

  manager_->StopWaiting();
  EXPECT_TRUE(absl::IsUnavailable(
      manager_->WaitUntilServing("m", 9, absl::InfiniteFuture())));
}

}  // namespace
}  // namespace ember::server
