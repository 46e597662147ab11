{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 5,
			"revision": 6,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [40.0, 60.0, 1400.0, 880.0],
		"bglocked": 0,
		"openinpresentation": 1,
		"default_fontsize": 12.0,
		"default_fontface": 0,
		"default_fontname": "Arial",
		"gridonopen": 1,
		"gridsize": [15.0, 15.0],
		"gridsnaponopen": 1,
		"objectsnaponopen": 1,
		"statusbarvisible": 2,
		"toolbarvisible": 1,
		"boxanimatetime": 200,
		"enablehscroll": 1,
		"enablevscroll": 1,
		"description": "ciel-node OSC controller",
		"digest": "",
		"tags": "",
		"style": "",
		"subpatcher_template": "",
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 10.0, 700.0, 20.0],
					"text": "ciel-node controller (Max 8) - OSC over UDP. Opens in presentation mode: Cmd/Ctrl+Alt+E shows the wiring.",
					"presentation": 1,
					"presentation_rect": [20.0, 10.0, 700.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 32.0, 620.0, 40.0],
					"text": "Locked patch: drag the sliders / number boxes, click the buttons and the toggle. The node's own reports come back and move the same widgets with 'set' (which does not output, so nothing loops).",
					"presentation": 1,
					"presentation_rect": [20.0, 32.0, 620.0, 40.0]
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 90.0, 200.0, 20.0],
					"text": "1. CONNECTION",
					"presentation": 1,
					"presentation_rect": [20.0, 90.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [20.0, 115.0, 70.0, 22.0],
					"outlettype": ["bang"],
					"text": "loadbang"
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [20.0, 145.0, 63.0, 22.0],
					"outlettype": ["bang", "bang", "bang"],
					"text": "t b b b"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [120.0, 180.0, 112.0, 22.0],
					"outlettype": [""],
					"text": "host 127.0.0.1",
					"presentation": 1,
					"presentation_rect": [120.0, 180.0, 112.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [240.0, 180.0, 77.0, 22.0],
					"outlettype": [""],
					"text": "port 9000",
					"presentation": 1,
					"presentation_rect": [240.0, 180.0, 77.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [330.0, 175.0, 330.0, 80.0],
					"text": "<- the node's host and OSC port (unlock, edit, lock, click). For a remote node over SSH: the local UDP port that 'ciel-node operator --ssh user@host' prints.",
					"presentation": 1,
					"presentation_rect": [330.0, 175.0, 330.0, 80.0]
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [20.0, 225.0, 42.0, 22.0],
					"outlettype": [""],
					"text": "9001"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 270.0, 80.0, 20.0],
					"text": "listen port",
					"presentation": 1,
					"presentation_rect": [20.0, 270.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [100.0, 270.0, 60.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"minimum": 0,
					"maximum": 65535,
					"presentation": 1,
					"presentation_rect": [100.0, 270.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [165.0, 270.0, 380.0, 20.0],
					"text": "<- where the node's state, pieces and errors come back",
					"presentation": 1,
					"presentation_rect": [165.0, 270.0, 380.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-13",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1180.0, 620.0, 168.0, 22.0],
					"text": "udpsend 127.0.0.1 9000"
				}
			},
			{
				"box": {
					"id": "obj-14",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [20.0, 305.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [20.0, 305.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [48.0, 307.0, 240.0, 20.0],
					"text": "subscribe and ask for the state again",
					"presentation": 1,
					"presentation_rect": [48.0, 307.0, 240.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [300.0, 305.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [300.0, 305.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-17",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [328.0, 307.0, 220.0, 20.0],
					"text": "stop the feedback (unsubscribe)",
					"presentation": 1,
					"presentation_rect": [328.0, 307.0, 220.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 350.0, 200.0, 20.0],
					"text": "2. CONTROLS -> node",
					"presentation": 1,
					"presentation_rect": [20.0, 350.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-19",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 380.0, 140.0, 20.0],
					"text": "interval (s)",
					"presentation": 1,
					"presentation_rect": [20.0, 380.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 380.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": 0.5,
					"size": 3599.5,
					"orientation": 1,
					"presentation": 1,
					"presentation_rect": [160.0, 380.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 380.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.5,
					"maximum": 3600.0,
					"presentation": 1,
					"presentation_rect": [370.0, 380.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 380.0, 170.0, 20.0],
					"text": "0.5 - 3600, default 30",
					"presentation": 1,
					"presentation_rect": [470.0, 380.0, 170.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 380.0, 112.0, 22.0],
					"outlettype": [""],
					"text": "clip 0.5 3600."
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 380.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-25",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 380.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 380.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/interval $1"
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 420.0, 140.0, 20.0],
					"text": "seed",
					"presentation": 1,
					"presentation_rect": [20.0, 420.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 420.0, 90.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [370.0, 420.0, 90.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 420.0, 170.0, 40.0],
					"text": "integer 0 - 2147483647, default 0",
					"presentation": 1,
					"presentation_rect": [470.0, 420.0, 170.0, 40.0]
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 420.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "clip 0 2147483647"
				}
			},
			{
				"box": {
					"id": "obj-31",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 420.0, 49.0, 22.0],
					"outlettype": ["int", "int"],
					"text": "t i i"
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 420.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 420.0, 105.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/seed $1"
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 460.0, 140.0, 20.0],
					"text": "drift",
					"presentation": 1,
					"presentation_rect": [20.0, 460.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 460.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": 0.0,
					"size": 1.0,
					"orientation": 1,
					"presentation": 1,
					"presentation_rect": [160.0, 460.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 460.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"presentation": 1,
					"presentation_rect": [370.0, 460.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 460.0, 170.0, 20.0],
					"text": "0 - 1, default 0.1",
					"presentation": 1,
					"presentation_rect": [470.0, 460.0, 170.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 460.0, 84.0, 22.0],
					"outlettype": [""],
					"text": "clip 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 460.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 460.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 460.0, 112.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/drift $1"
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 500.0, 140.0, 20.0],
					"text": "volume ceiling (dBFS)",
					"presentation": 1,
					"presentation_rect": [20.0, 500.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 500.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -60.0,
					"size": 60.0,
					"orientation": 1,
					"presentation": 1,
					"presentation_rect": [160.0, 500.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 500.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -60.0,
					"maximum": 0.0,
					"presentation": 1,
					"presentation_rect": [370.0, 500.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 500.0, 170.0, 20.0],
					"text": "-60 - 0, default -6",
					"presentation": 1,
					"presentation_rect": [470.0, 500.0, 170.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-46",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 500.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "clip -60. 0."
				}
			},
			{
				"box": {
					"id": "obj-47",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 500.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-48",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 500.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-49",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 500.0, 175.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/volume_ceiling $1"
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 540.0, 140.0, 20.0],
					"text": "next",
					"presentation": 1,
					"presentation_rect": [20.0, 540.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-51",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 538.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [160.0, 538.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-52",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [190.0, 540.0, 200.0, 20.0],
					"text": "publish a new piece now",
					"presentation": 1,
					"presentation_rect": [190.0, 540.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-53",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 540.0, 84.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/next"
				}
			},
			{
				"box": {
					"id": "obj-54",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 580.0, 140.0, 20.0],
					"text": "playback",
					"presentation": 1,
					"presentation_rect": [20.0, 580.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-55",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 578.0, 24.0, 24.0],
					"outlettype": ["int"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [160.0, 578.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-56",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [190.0, 580.0, 260.0, 40.0],
					"text": "the node's speakers on / off (default on)",
					"presentation": 1,
					"presentation_rect": [190.0, 580.0, 260.0, 40.0]
				}
			},
			{
				"box": {
					"id": "obj-57",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 580.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/playback $1"
				}
			},
			{
				"box": {
					"id": "obj-58",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 580.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-59",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 630.0, 620.0, 20.0],
					"text": "3. FROM THE NODE (also printed in the Max console: ciel-osc-in, ciel-error)",
					"presentation": 1,
					"presentation_rect": [20.0, 630.0, 620.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-60",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 660.0, 80.0, 20.0],
					"text": "last piece",
					"presentation": 1,
					"presentation_rect": [20.0, 660.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-61",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [100.0, 660.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [100.0, 660.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-62",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [180.0, 660.0, 220.0, 22.0],
					"outlettype": [""],
					"text": "",
					"presentation": 1,
					"presentation_rect": [180.0, 660.0, 220.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-63",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [410.0, 660.0, 220.0, 22.0],
					"outlettype": [""],
					"text": "",
					"presentation": 1,
					"presentation_rect": [410.0, 660.0, 220.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-64",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 690.0, 80.0, 20.0],
					"text": "last error",
					"presentation": 1,
					"presentation_rect": [20.0, 690.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-65",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [100.0, 690.0, 530.0, 22.0],
					"outlettype": [""],
					"text": "",
					"presentation": 1,
					"presentation_rect": [100.0, 690.0, 530.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-66",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [680.0, 115.0, 63.0, 22.0],
					"outlettype": ["int", "int", "int"],
					"text": "t i i i"
				}
			},
			{
				"box": {
					"id": "obj-67",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [840.0, 145.0, 63.0, 22.0],
					"outlettype": [""],
					"text": "port $1"
				}
			},
			{
				"box": {
					"id": "obj-68",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [840.0, 175.0, 119.0, 22.0],
					"outlettype": [""],
					"text": "udpreceive 9001"
				}
			},
			{
				"box": {
					"id": "obj-69",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [680.0, 210.0, 49.0, 22.0],
					"outlettype": ["bang", "bang"],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-70",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [740.0, 205.0, 300.0, 40.0],
					"text": "<- hello: (re)start the subscription, then ask for the whole state"
				}
			},
			{
				"box": {
					"id": "obj-71",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [760.0, 250.0, 84.0, 22.0],
					"outlettype": ["bang"],
					"text": "metro 5000"
				}
			},
			{
				"box": {
					"id": "obj-72",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [850.0, 250.0, 280.0, 40.0],
					"text": "<- re-subscribe every 5 s: the node drops subscribers it thinks dead"
				}
			},
			{
				"box": {
					"id": "obj-73",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [800.0, 300.0, 56.0, 22.0],
					"outlettype": ["int"],
					"text": "i 9001"
				}
			},
			{
				"box": {
					"id": "obj-74",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [800.0, 330.0, 140.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/subscribe $1"
				}
			},
			{
				"box": {
					"id": "obj-75",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [680.0, 300.0, 56.0, 22.0],
					"outlettype": ["int"],
					"text": "i 9001"
				}
			},
			{
				"box": {
					"id": "obj-76",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [680.0, 330.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/get $1"
				}
			},
			{
				"box": {
					"id": "obj-77",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [1200.0, 250.0, 49.0, 22.0],
					"outlettype": ["bang", "bang"],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-78",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1260.0, 280.0, 42.0, 22.0],
					"outlettype": [""],
					"text": "stop"
				}
			},
			{
				"box": {
					"id": "obj-79",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1200.0, 300.0, 56.0, 22.0],
					"outlettype": ["int"],
					"text": "i 9001"
				}
			},
			{
				"box": {
					"id": "obj-80",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1200.0, 330.0, 154.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/unsubscribe $1"
				}
			},
			{
				"box": {
					"id": "obj-81",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1180.0, 645.0, 210.0, 40.0],
					"text": "everything goes out here as OSC (floats as f, ints as i)"
				}
			},
			{
				"box": {
					"id": "obj-82",
					"maxclass": "newobj",
					"numinlets": 8,
					"numoutlets": 8,
					"patching_rect": [680.0, 700.0, 560.0, 22.0],
					"outlettype": ["", "", "", "", "", "", "", ""],
					"text": "route /ciel/state/interval /ciel/state/seed /ciel/state/drift /ciel/state/volume_ceiling /ciel/state/playback /ciel/piece /ciel/error"
				}
			},
			{
				"box": {
					"id": "obj-83",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [980.0, 175.0, 133.0, 22.0],
					"text": "print ciel-osc-in"
				}
			},
			{
				"box": {
					"id": "obj-84",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [1075.0, 740.0, 98.0, 22.0],
					"outlettype": ["int", "", ""],
					"text": "unpack i s s"
				}
			},
			{
				"box": {
					"id": "obj-85",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1075.0, 780.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-86",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [1140.0, 780.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-87",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [1140.0, 810.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-88",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [1250.0, 740.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-89",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1250.0, 770.0, 126.0, 22.0],
					"text": "print ciel-error"
				}
			},
			{
				"box": {
					"id": "obj-90",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [680.0, 675.0, 490.0, 20.0],
					"text": "feedback: /ciel/state/<name> -> set on the widgets, /ciel/piece, /ciel/error"
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"destination": ["obj-23", 0],
					"source": ["obj-20", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-20", 0],
					"source": ["obj-25", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-23", 0],
					"source": ["obj-21", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-21", 0],
					"source": ["obj-25", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-24", 0],
					"source": ["obj-23", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-25", 0],
					"source": ["obj-24", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-26", 0],
					"source": ["obj-24", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-26", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-30", 0],
					"source": ["obj-28", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-28", 0],
					"source": ["obj-32", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-31", 0],
					"source": ["obj-30", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 0],
					"source": ["obj-31", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-33", 0],
					"source": ["obj-31", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-33", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-38", 0],
					"source": ["obj-35", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-35", 0],
					"source": ["obj-40", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-38", 0],
					"source": ["obj-36", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-36", 0],
					"source": ["obj-40", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-39", 0],
					"source": ["obj-38", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-40", 0],
					"source": ["obj-39", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-41", 0],
					"source": ["obj-39", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-41", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-46", 0],
					"source": ["obj-43", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-43", 0],
					"source": ["obj-48", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-46", 0],
					"source": ["obj-44", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-44", 0],
					"source": ["obj-48", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-47", 0],
					"source": ["obj-46", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-48", 0],
					"source": ["obj-47", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-49", 0],
					"source": ["obj-47", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-49", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-53", 0],
					"source": ["obj-51", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-53", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-57", 0],
					"source": ["obj-55", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-57", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-55", 0],
					"source": ["obj-58", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-5", 0],
					"source": ["obj-4", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-6", 0],
					"source": ["obj-5", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-7", 0],
					"source": ["obj-5", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-9", 0],
					"source": ["obj-5", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-6", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-7", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-11", 0],
					"source": ["obj-9", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-66", 0],
					"source": ["obj-11", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-67", 0],
					"source": ["obj-66", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-68", 0],
					"source": ["obj-67", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-73", 1],
					"source": ["obj-66", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-75", 1],
					"source": ["obj-66", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-69", 0],
					"source": ["obj-66", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-69", 0],
					"source": ["obj-14", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-71", 0],
					"source": ["obj-69", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-75", 0],
					"source": ["obj-69", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-73", 0],
					"source": ["obj-71", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-74", 0],
					"source": ["obj-73", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-76", 0],
					"source": ["obj-75", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-74", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-76", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-77", 0],
					"source": ["obj-16", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-78", 0],
					"source": ["obj-77", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-71", 0],
					"source": ["obj-78", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-79", 0],
					"source": ["obj-77", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-79", 1],
					"source": ["obj-66", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-80", 0],
					"source": ["obj-79", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-80", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-82", 0],
					"source": ["obj-68", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-83", 0],
					"source": ["obj-68", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-25", 0],
					"source": ["obj-82", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 0],
					"source": ["obj-82", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-40", 0],
					"source": ["obj-82", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-48", 0],
					"source": ["obj-82", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-58", 0],
					"source": ["obj-82", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-84", 0],
					"source": ["obj-82", 5]
				}
			},
			{
				"patchline": {
					"destination": ["obj-85", 0],
					"source": ["obj-84", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-86", 0],
					"source": ["obj-84", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-87", 0],
					"source": ["obj-84", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-61", 0],
					"source": ["obj-85", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-62", 0],
					"source": ["obj-86", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-63", 0],
					"source": ["obj-87", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-88", 0],
					"source": ["obj-82", 6]
				}
			},
			{
				"patchline": {
					"destination": ["obj-89", 0],
					"source": ["obj-82", 6]
				}
			},
			{
				"patchline": {
					"destination": ["obj-65", 0],
					"source": ["obj-88", 0]
				}
			}
		],
		"dependency_cache": [],
		"autosave": 0
	}
}
