#include "realtime/socketio_packet.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace onda::realtime {
namespace {

namespace json = boost::json;

SocketPacket decoded(std::string_view text) {
    auto packet = decode_socket_packet(text);
    if (!packet) throw ErrorException(packet.error());
    return std::move(*packet);
}

std::string encoded(SocketPacket const& packet) {
    std::string out;
    append_socket_packet(out, packet);
    return out;
}

TEST(SocketIoPacket, DecodesTheProtocolsExamples) {
    auto connect = decoded("0");
    EXPECT_EQ(connect.type, SocketType::connect);
    EXPECT_EQ(connect.nsp, "/");
    EXPECT_TRUE(connect.data.is_null());

    auto with_auth = decoded(R"(0{"token":"abc","deviceId":"phone"})");
    EXPECT_EQ(with_auth.data.as_object().at("token"), "abc");

    auto admin = decoded("0/admin,");
    EXPECT_EQ(admin.nsp, "/admin");

    auto event = decoded(R"(2["foo"])");
    EXPECT_EQ(event.type, SocketType::event);
    EXPECT_EQ(event.data, json::parse(R"(["foo"])"));
    EXPECT_FALSE(event.id);

    auto asked = decoded(R"(212["foo"])");
    ASSERT_TRUE(asked.id);
    EXPECT_EQ(*asked.id, 12u);

    auto elsewhere = decoded(R"(2/admin,13["foo"])");
    EXPECT_EQ(elsewhere.nsp, "/admin");
    EXPECT_EQ(*elsewhere.id, 13u);

    auto ack = decoded("312[]");
    EXPECT_EQ(ack.type, SocketType::ack);
    EXPECT_EQ(*ack.id, 12u);
    EXPECT_TRUE(ack.data.as_array().empty());

    auto binary = decoded(R"(51-["baz",{"_placeholder":true,"num":0}])");
    EXPECT_EQ(binary.type, SocketType::binary_event);
    EXPECT_EQ(binary.attachments, 1u);

    auto binary_ack = decoded(R"(61-15["bar",{"_placeholder":true,"num":0}])");
    EXPECT_EQ(binary_ack.type, SocketType::binary_ack);
    EXPECT_EQ(*binary_ack.id, 15u);

    auto two = decoded(R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
    EXPECT_EQ(two.attachments, 2u);
    EXPECT_EQ(two.nsp, "/admin");

    EXPECT_EQ(decoded("1").type, SocketType::disconnect);
    EXPECT_EQ(decoded("1/admin,").nsp, "/admin");
    EXPECT_EQ(decoded(R"(4{"message":"Not authorized"})").type, SocketType::connect_error);
}

TEST(SocketIoPacket, EncodesTheProtocolsExamples) {
    EXPECT_EQ(encoded({.type = SocketType::connect, .data = json::object{{"sid", "wZX3"}}}), R"(0{"sid":"wZX3"})");
    EXPECT_EQ(encoded({.type = SocketType::connect, .nsp = "/admin"}), "0/admin,");
    EXPECT_EQ(encoded({.type = SocketType::connect_error, .data = json::object{{"message", "Not authorized"}}}),
              R"(4{"message":"Not authorized"})");
    EXPECT_EQ(encoded({.type = SocketType::event, .data = json::array{"foo"}}), R"(2["foo"])");
    EXPECT_EQ(encoded({.type = SocketType::event, .nsp = "/admin", .id = 13, .data = json::array{"foo"}}),
              R"(2/admin,13["foo"])");
    EXPECT_EQ(encoded({.type = SocketType::ack, .id = 12, .data = json::array{}}), "312[]");
    EXPECT_EQ(
        encoded({.type = SocketType::binary_event, .attachments = 1, .data = json::array{"baz", make_placeholder(0)}}),
        R"(51-["baz",{"_placeholder":true,"num":0}])");
    EXPECT_EQ(encoded({.type = SocketType::binary_ack,
                       .id = 15,
                       .attachments = 1,
                       .data = json::array{"bar", make_placeholder(0)}}),
              R"(61-15["bar",{"_placeholder":true,"num":0}])");
    EXPECT_EQ(encoded({.type = SocketType::disconnect}), "1");
}

TEST(SocketIoPacket, EveryEncodedPacketDecodesToItself) {
    std::vector<SocketPacket> packets{
        {.type = SocketType::connect, .data = json::object{{"token", "t"}}},
        {.type = SocketType::disconnect, .nsp = "/chat"},
        {.type = SocketType::event, .id = max_ack_id, .data = json::array{"a", 1, json::object{{"b", nullptr}}}},
        {.type = SocketType::ack, .id = 0, .data = json::array{json::object{{"ok", true}}}},
        {.type = SocketType::connect_error, .data = "plain message"},
        {.type = SocketType::binary_event,
         .attachments = 3,
         .data = json::array{"up", make_placeholder(2), json::array{make_placeholder(0), make_placeholder(1)}}},
        {.type = SocketType::binary_ack, .id = 7, .attachments = 0, .data = json::array{}},
    };
    for (auto const& packet : packets) {
        auto text = encoded(packet);
        auto back = decoded(text);
        EXPECT_EQ(back.type, packet.type) << text;
        EXPECT_EQ(back.nsp, packet.nsp) << text;
        EXPECT_EQ(back.id, packet.id) << text;
        EXPECT_EQ(back.attachments, packet.attachments) << text;
        EXPECT_EQ(back.data, packet.data) << text;
    }
}

TEST(SocketIoPacket, AHubEventIsAnEventWithItsDataVerbatim) {
    std::string out = "4";
    append_event(out, "chat_message", R"({"text":"hi \"you\""})");
    EXPECT_EQ(out, R"(42["chat_message",{"text":"hi \"you\""}])");
    auto back = decoded(std::string_view(out).substr(1));
    EXPECT_EQ(back.data.as_array().at(0), "chat_message");
    EXPECT_EQ(back.data.as_array().at(1).as_object().at("text"), "hi \"you\"");
}

TEST(SocketIoPacket, EventNamesAreEscapedAsJson) {
    std::string out;
    append_event(out, "we\"ird\n", "{}");
    EXPECT_EQ(decoded(out).data.as_array().at(0), "we\"ird\n");
}

TEST(SocketIoPacket, RefusesWhatIsNotAPacket) {
    for (std::string_view text : {"", "7", "x", "9[]", "/", " 2[\"a\"]"})
        EXPECT_FALSE(decode_socket_packet(text)) << text;
}

TEST(SocketIoPacket, RefusesPayloadsOfTheWrongShape) {
    for (std::string_view text : {
             R"(0[])",                 // CONNECT data must be an object
             R"(0"token")",            //
             R"(1{})",                 // DISCONNECT carries nothing
             R"(2)",                   // EVENT needs data
             R"(2{})",                 // ... an array
             R"(2[])",                 // ... not empty
             R"(2[1])",                // ... whose first item is a name
             R"(2[null,"x"])",         //
             R"(2[{"a":1}])",          //
             R"(2["connect"])",        // reserved names
             R"(2["disconnect",{}])",  //
             R"(2["newListener"])",    //
             R"(3[])",                 // an ACK needs an id
             R"(31{})",                // ... and an array
             R"(4)",                   // CONNECT_ERROR needs data
             R"(4[1])",                // ... an object or a string
         })
        EXPECT_FALSE(decode_socket_packet(text)) << text;
}

TEST(SocketIoPacket, RefusesBrokenJson) {
    std::vector<std::string> const texts{R"(2["a")",    R"(2["a"]])", R"(2["a"] x)",    R"(2['a'])",
                                         "2[\"\xff\"]", R"(2["a",])", R"(0{"token":})", std::string("2[\"a\"]\0", 7)};
    for (auto const& text : texts) EXPECT_FALSE(decode_socket_packet(text)) << testing::PrintToString(text);
}

TEST(SocketIoPacket, RefusesNumbersNoDoubleCanHold) {
    EXPECT_FALSE(decode_socket_packet(R"(2["a",-1e320])"));
    EXPECT_FALSE(decode_socket_packet(R"(2["a",{"x":[1e400]}])"));
    EXPECT_TRUE(decode_socket_packet(R"(2["a",1e300,-1e-320,18446744073709551616])"));
}

TEST(SocketIoPacket, RefusesJsonNestedTooDeeply) {
    std::string deep = "2[\"a\"," + std::string(100, '[') + std::string(100, ']') + "]";
    EXPECT_FALSE(decode_socket_packet(deep));
}

TEST(SocketIoPacket, RefusesAckIdsPastJavaScriptsIntegers) {
    EXPECT_TRUE(decode_socket_packet("29007199254740991[\"a\"]"));
    EXPECT_FALSE(decode_socket_packet("29007199254740992[\"a\"]"));
    EXPECT_FALSE(decode_socket_packet("2999999999999999999999999[\"a\"]"));
}

TEST(SocketIoPacket, RefusesBinaryPacketsWithoutAValidAttachmentCount) {
    for (std::string_view text :
         {R"(5["a"])", R"(5-["a"])", R"(51["a"])", R"(5x-["a"])", "51-", "5999999999999999999999-[\"a\"]"})
        EXPECT_FALSE(decode_socket_packet(text)) << text;
}

TEST(SocketIoPacket, RefusesMoreAttachmentsThanTheLimit) {
    std::string text = R"(511-["a"])";
    EXPECT_FALSE(decode_socket_packet(text));
    EXPECT_TRUE(decode_socket_packet(text, SocketLimits{.max_attachments = 11}));
    EXPECT_TRUE(decode_socket_packet(R"(510-["a"])"));
}

TEST(SocketIoPacket, RefusesPlaceholdersThatNameNoAttachment) {
    for (std::string_view text : {
             R"(51-["a",{"_placeholder":true,"num":1}])",
             R"(51-["a",{"_placeholder":true,"num":-1}])",
             R"(51-["a",{"_placeholder":true,"num":"0"}])",
             R"(51-["a",{"_placeholder":true}])",
             R"(50-["a",{"_placeholder":true,"num":0}])",
             R"(51-["a",{"x":[{"_placeholder":true,"num":5}]}])",
         })
        EXPECT_FALSE(decode_socket_packet(text)) << text;
}

TEST(SocketIoPacket, PlaceholdersAnywhereInTheDataAreAccepted) {
    auto packet = decoded(R"(52-["a",{"x":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":0}])");
    auto const& args = packet.data.as_array();
    EXPECT_EQ(placeholder_index(args[2]), 0u);
    EXPECT_EQ(placeholder_index(args[1].as_object().at("x").as_array().at(0)), 1u);
    EXPECT_FALSE(placeholder_index(args[0]));
    EXPECT_FALSE(placeholder_index(json::object{{"_placeholder", false}, {"num", 0}}));
}

TEST(SocketIoPacket, AnObjectThatOnlyLooksLikeAPlaceholderInATextEventIsData) {
    auto packet = decoded(R"(2["a",{"_placeholder":true,"num":3}])");
    EXPECT_EQ(packet.type, SocketType::event);
}

TEST(SocketIoPacket, ReservedNamesAreSocketIos) {
    for (std::string_view name :
         {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"})
        EXPECT_TRUE(is_reserved_event(name)) << name;
    EXPECT_FALSE(is_reserved_event("join"));
    EXPECT_FALSE(is_reserved_event("Connect"));
}

}  // namespace
}  // namespace onda::realtime
