// rule-new requests sent by a thread of their own, for a bulk load.  The
// kernel inserts a request's rules inside the sendmsg() that carries it, so
// whichever thread sends pays for the insert (about a third of a load's
// time on sgnicd's thread); with this one sending, sgnicd's thread builds the
// next request, and reads the next batch, meanwhile.
//
// The thread has a socket of its own and shares nothing else with the
// caller but the queue.  The caller waits for drain() before it sends any
// other request on its own socket (NetlinkKernel::client()), so the kernel
// sees the requests in the order they were made.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "netlink/sgnic_netlink.hpp"
#include "service/kernel.hpp"

namespace sgnic::adapter {

class RuleSender {
public:
    // What the requests sent since the last settle() came to.
    using Outcome = service::DeferredInserts::Outcome;

    // Opens the socket (resolving the family); throws nl::Error.
    RuleSender();
    // Waits for the requests queued, then stops the thread.
    ~RuleSender();
    RuleSender(const RuleSender&) = delete;
    RuleSender& operator=(const RuleSender&) = delete;
    RuleSender(RuleSender&&) = delete;
    RuleSender& operator=(RuleSender&&) = delete;

    // For building requests: the family as this socket resolved it, and the
    // next sequence number of this socket.
    std::uint16_t family() const { return sock_.family(); }
    std::uint32_t next_seq() { return sock_.next_seq(); }

    // Queues a rule-new request of `rules` rules; `context` starts the error
    // of a rule it refuses.  Sent at once, on this thread, if no thread
    // could be started.
    void send(nl::Message request, std::size_t rules, std::string context);
    // Returns once every request queued has been answered.
    void drain();
    // drain(), then the outcome, which starts again from nothing.
    Outcome settle();

private:
    struct Request {
        nl::Message message;
        std::size_t rules = 0;
        std::string context;
    };

    void run();
    // Sends one request and adds its answer to outcome_ (under mutex_).
    void transact(const Request& request);

    nl::Socket sock_;  // used by the thread only, once it runs
    std::mutex mutex_;
    std::condition_variable work_;  // a request queued, or stopping_
    std::condition_variable idle_;  // the queue emptied and nothing in flight
    // Guarded by mutex_:
    std::deque<Request> queue_;
    bool busy_ = false;  // the thread is sending one
    bool stopping_ = false;
    Outcome outcome_;
    std::thread thread_;  // started by the first send()
};

}  // namespace sgnic::adapter
